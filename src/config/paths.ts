/**
 * Where dotstub keeps things, per OS and per scope. A user's own daemon and CLI use the env-paths
 * directories; the system service (root, or the service account) uses fixed system paths, because a
 * service manager gives it no home directory to derive them from.
 */
import envPaths from 'env-paths';
import { join } from 'node:path';

export type Scope = 'user' | 'system';

const userPaths = (): ReturnType<typeof envPaths> => envPaths('dotstub', { suffix: '' });

function programData(): string {
  return process.env.ProgramData ?? 'C:\\ProgramData';
}

/** The system service's directory for configuration. */
function systemConfigDir(platform: NodeJS.Platform): string {
  if (platform === 'win32') return join(programData(), 'dotstub');
  if (platform === 'darwin') return '/Library/Application Support/dotstub';
  return '/etc/dotstub';
}

function systemDataDir(platform: NodeJS.Platform): string {
  if (platform === 'win32') return join(programData(), 'dotstub', 'data');
  if (platform === 'darwin') return '/Library/Application Support/dotstub/data';
  return '/var/lib/dotstub';
}

export function configFile(scope: Scope, platform: NodeJS.Platform = process.platform): string {
  return scope === 'system'
    ? join(systemConfigDir(platform), 'config.json')
    : join(userPaths().config, 'config.json');
}

/** Generated state: the DoT listener's certificate, saved resolver settings. */
export function dataDir(scope: Scope, platform: NodeJS.Platform = process.platform): string {
  // Under systemd with StateDirectory= (our unit, DynamicUser), the service manager names the directory.
  const state = process.env.STATE_DIRECTORY;
  if (state !== undefined && state !== '') return state.split(':')[0] ?? state;
  return scope === 'system' ? systemDataDir(platform) : userPaths().data;
}

/** The daemon's control socket (a named pipe on Windows), which `dotstub status` and friends talk to. */
export function controlSocketPath(scope: Scope, platform: NodeJS.Platform = process.platform): string {
  if (platform === 'win32')
    return scope === 'system'
      ? '\\\\.\\pipe\\dotstub-control'
      : `\\\\.\\pipe\\dotstub-control-${process.env.USERNAME ?? 'user'}`;
  if (scope === 'system')
    return platform === 'darwin' ? '/var/run/dotstub/control.sock' : '/run/dotstub/control.sock';
  const runtime = process.env.XDG_RUNTIME_DIR;
  return join(
    runtime !== undefined && runtime !== '' ? join(runtime, 'dotstub') : userPaths().temp,
    'control.sock',
  );
}

/** The scope this process runs in: the system one as root (the service), the user's otherwise. */
export function currentScope(): Scope {
  return process.getuid?.() === 0 ? 'system' : 'user';
}
