/**
 * `dotstub service install | uninstall | start | stop | restart | status` as plans per init system. Install
 * records what it wrote in a manifest in the data directory; uninstall removes exactly that (a config file it
 * created only if nobody changed it since) and nothing else. Installing again gives the same files.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { configFile, controlSocketPath, dataDir } from '../config/paths.js';
import { SystemChangeError } from '../errors.js';
import { underRoot } from './executor.js';
import type { Step } from './plan.js';
import {
  LAUNCHD_LABEL,
  launchdPlist,
  SYSTEMD_UNIT_NAME,
  systemdUnit,
  WINDOWS_TASK,
  windowsTaskScript,
  type ServicePaths,
} from './service-files.js';
import { powershell } from './windows-resolver.js';

export type InitSystem = 'systemd' | 'launchd' | 'windows';
export const INIT_SYSTEMS: readonly InitSystem[] = ['systemd', 'launchd', 'windows'];
export type ServiceAction = 'start' | 'stop' | 'restart' | 'status';

export interface ServiceLayout extends ServicePaths {
  readonly init: InitSystem;
  readonly manifest: string;
}

export interface ManifestFile {
  readonly path: string;
  readonly sha256: string;
  /** A file the user may edit (the config): removed on uninstall only while it still has this hash. */
  readonly userEditable: boolean;
}

export interface ServiceManifest {
  readonly version: 1;
  readonly init: InitSystem;
  readonly files: readonly ManifestFile[];
  /** Directories install created: removed on uninstall when they are empty. */
  readonly dirs: readonly string[];
}

/** What install and uninstall need to know about the machine now. */
export interface ServiceFacts {
  readonly exists: (path: string) => boolean;
  readonly sha256: (path: string) => string | undefined;
  readonly manifest: ServiceManifest | undefined;
}

const PLATFORM: Record<InitSystem, NodeJS.Platform> = {
  systemd: 'linux',
  launchd: 'darwin',
  windows: 'win32',
};
const UNIT_PATH = `/etc/systemd/system/${SYSTEMD_UNIT_NAME}`;
const PLIST_PATH = `/Library/LaunchDaemons/${LAUNCHD_LABEL}.plist`;
/** Empty: the embedded defaults (loopback port 53, Quad9 and Cloudflare over authenticated TLS). */
export const DEFAULT_CONFIG = '{}\n';

export function detectInitSystem(platform: NodeJS.Platform, root = '/'): InitSystem {
  if (platform === 'darwin') return 'launchd';
  if (platform === 'win32') return 'windows';
  // sd_booted(3): systemd is the running init exactly when this directory exists.
  if (platform === 'linux' && existsSync(underRoot(root, '/run/systemd/system'))) return 'systemd';
  throw new SystemChangeError(
    `no supported service manager here (${platform}${platform === 'linux' ? ' without systemd' : ''}): start \`dotstub run --config ${configFile('system', platform)}\` from your init system`,
    undefined,
    'ERR_DOTSTUB_SERVICE',
  );
}

export function serviceLayout(init: InitSystem, node: string, main: string): ServiceLayout {
  const platform = PLATFORM[init];
  // paths.ts joins with this machine's separator; a Windows plan printed elsewhere still shows Windows paths.
  const native = (p: string): string => (init === 'windows' ? p.replaceAll('/', '\\') : p);
  return {
    init,
    node,
    main,
    config: native(configFile('system', platform)),
    control: controlSocketPath('system', platform),
    manifest: native(join(dataDir('system', platform), 'service-manifest.json')),
  };
}

export const sha256 = (content: string): string => createHash('sha256').update(content).digest('hex');
const parent = (layout: ServiceLayout, path: string): string =>
  layout.init === 'windows' ? path.slice(0, path.lastIndexOf('\\')) : dirname(path);

function serviceFile(layout: ServiceLayout): { path: string; content: string } | undefined {
  if (layout.init === 'systemd') return { path: UNIT_PATH, content: systemdUnit(layout) };
  if (layout.init === 'launchd') return { path: PLIST_PATH, content: launchdPlist(layout) };
  return undefined;
}

const ps = (script: string, mayFail = false): Step => ({ kind: 'run', argv: powershell(script), mayFail });
const TASK = `-TaskName '${WINDOWS_TASK}'`;

function startCommands(layout: ServiceLayout): Step[] {
  switch (layout.init) {
    case 'systemd':
      return [
        { kind: 'run', argv: ['systemctl', 'daemon-reload'] },
        { kind: 'run', argv: ['systemctl', 'enable', SYSTEMD_UNIT_NAME] },
        { kind: 'run', argv: ['systemctl', 'restart', SYSTEMD_UNIT_NAME] },
      ];
    case 'launchd':
      return [
        { kind: 'run', argv: ['launchctl', 'bootout', `system/${LAUNCHD_LABEL}`], mayFail: true },
        { kind: 'run', argv: ['launchctl', 'enable', `system/${LAUNCHD_LABEL}`] },
        { kind: 'run', argv: ['launchctl', 'bootstrap', 'system', PLIST_PATH] },
      ];
    case 'windows':
      return [
        ps(`Stop-ScheduledTask ${TASK}`, true),
        ps(windowsTaskScript(layout)),
        ps(`Start-ScheduledTask ${TASK}`),
      ];
  }
}

function stopCommands(layout: ServiceLayout): Step[] {
  switch (layout.init) {
    case 'systemd':
      return [{ kind: 'run', argv: ['systemctl', 'disable', '--now', SYSTEMD_UNIT_NAME], mayFail: true }];
    case 'launchd':
      return [{ kind: 'run', argv: ['launchctl', 'bootout', `system/${LAUNCHD_LABEL}`], mayFail: true }];
    case 'windows':
      return [
        ps(`Stop-ScheduledTask ${TASK}`, true),
        ps(`Unregister-ScheduledTask ${TASK} -Confirm:$false`, true),
      ];
  }
}

export function installPlan(
  layout: ServiceLayout,
  facts: ServiceFacts,
): { plan: Step[]; manifest: ServiceManifest } {
  const steps: Step[] = [];
  const files: ManifestFile[] = [];
  const dirs: string[] = [];
  const configDir = parent(layout, layout.config);
  const manifestDir = parent(layout, layout.manifest);
  // A directory is install's when it created it (now, or the first time: the old manifest says so).
  const ours = (dir: string): boolean => !facts.exists(dir) || facts.manifest?.dirs.includes(dir) === true;
  if (ours(configDir)) dirs.push(configDir);
  if (ours(manifestDir) && manifestDir !== configDir) dirs.push(manifestDir);
  steps.push({ kind: 'mkdir', path: configDir, mode: 0o755 });
  const unit = serviceFile(layout);
  if (unit !== undefined) {
    steps.push({ kind: 'write', path: unit.path, content: unit.content, mode: 0o644 });
    files.push({ path: unit.path, sha256: sha256(unit.content), userEditable: false });
  }
  // The config is the user's: written only when there is none, and recorded only when it was ours.
  const ownConfig = facts.manifest?.files.find((f) => f.path === layout.config);
  if (ownConfig !== undefined && facts.exists(layout.config)) files.push(ownConfig);
  else if (!facts.exists(layout.config)) {
    steps.push({ kind: 'write', path: layout.config, content: DEFAULT_CONFIG, mode: 0o644 });
    files.push({ path: layout.config, sha256: sha256(DEFAULT_CONFIG), userEditable: true });
  }
  const manifest: ServiceManifest = { version: 1, init: layout.init, files, dirs };
  steps.push(
    { kind: 'mkdir', path: manifestDir, mode: 0o755 },
    { kind: 'write', path: layout.manifest, content: `${JSON.stringify(manifest, null, 2)}\n`, mode: 0o644 },
    ...startCommands(layout),
  );
  return { plan: steps, manifest };
}

/** Undefined when no manifest says dotstub installed a service here. `kept` lists edited files left in place. */
export function uninstallPlan(
  layout: ServiceLayout,
  facts: ServiceFacts,
): { plan: Step[]; kept: string[] } | undefined {
  const manifest = facts.manifest;
  if (manifest === undefined) return undefined;
  const kept: string[] = [];
  const steps: Step[] = [...stopCommands(layout)];
  for (const f of manifest.files) {
    if (f.userEditable && facts.exists(f.path) && facts.sha256(f.path) !== f.sha256) kept.push(f.path);
    else steps.push({ kind: 'remove', path: f.path });
  }
  if (layout.init === 'systemd') steps.push({ kind: 'run', argv: ['systemctl', 'daemon-reload'] });
  // The manifest goes last among the files, then the directories, deepest first, each only if left empty.
  steps.push({ kind: 'remove', path: layout.manifest });
  const deepestFirst = [...manifest.dirs].sort((a, b) => b.length - a.length);
  steps.push(...deepestFirst.map((path): Step => ({ kind: 'rmdir', path })));
  return { plan: steps, kept };
}

export function actionPlan(layout: ServiceLayout, action: ServiceAction): Step[] {
  const status = action === 'status';
  switch (layout.init) {
    case 'systemd':
      return [{ kind: 'run', argv: ['systemctl', action, SYSTEMD_UNIT_NAME], mayFail: status }];
    case 'launchd': {
      const target = `system/${LAUNCHD_LABEL}`;
      const argv: Record<ServiceAction, string[]> = {
        start: ['launchctl', 'kickstart', target],
        stop: ['launchctl', 'kill', 'SIGTERM', target],
        restart: ['launchctl', 'kickstart', '-k', target],
        status: ['launchctl', 'print', target],
      };
      return [{ kind: 'run', argv: argv[action], mayFail: status }];
    }
    case 'windows': {
      const scripts: Record<ServiceAction, string[]> = {
        start: [`Start-ScheduledTask ${TASK}`],
        stop: [`Stop-ScheduledTask ${TASK}`],
        restart: [`Stop-ScheduledTask ${TASK}`, `Start-ScheduledTask ${TASK}`],
        status: [`Get-ScheduledTask ${TASK} | Get-ScheduledTaskInfo | Format-List`],
      };
      return scripts[action].map((s) => ps(s, status));
    }
  }
}
