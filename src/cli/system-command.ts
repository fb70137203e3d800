/**
 * `dotstub system enable | disable | status`: make dotstub the machine's resolver and put the previous one back
 * exactly. Enable refuses unless dotstub answers on its listen address, and names whoever holds port 53.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseListenAddress, type HostPort } from '../config/addresses.js';
import { buildDaemonConfig } from '../config/daemon-config.js';
import { DEFAULT_LISTEN } from '../config/defaults.js';
import { configFile, dataDir } from '../config/paths.js';
import { ConfigError, SystemChangeError } from '../errors.js';
import { executePlan, realRunner } from '../system/executor.js';
import { LINUX_BACKENDS, type LinuxBackend } from '../system/linux-resolver.js';
import { planDisable, planEnable, type ResolverEnv, type ResolverPlatform } from '../system/os-resolver.js';
import { formatPlan } from '../system/plan.js';
import { adviceFor, findPort53Holders, otherHolders } from '../system/port53.js';
import { probeDns } from '../system/probe.js';
import { systemStatus } from './system-status.js';

export const SYSTEM_USAGE = `usage: dotstub system enable|disable|status [--dry-run] [--listen ADDR[@PORT]]... [--config FILE]
                      [--backend resolved|networkmanager|resolv.conf] [--control SOCKET]
  enable   point this machine's resolver at dotstub (saves the previous settings first)
  disable  put the saved settings back exactly
  status   who resolves for this machine, and whether queries leave encrypted
  --dry-run  print every file it would write and every command it would run, and change nothing
  --listen   where dotstub answers (default: the listen addresses of the system config, else 127.0.0.1@53 and ::1@53)
  --backend  Linux: force how the resolver is changed instead of detecting it`;

const OPTIONS = {
  'dry-run': { type: 'boolean' },
  listen: { type: 'string', multiple: true },
  config: { type: 'string' },
  backend: { type: 'string' },
  control: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const out = (s: string): void => {
  process.stdout.write(s);
};
const report = (line: string): void => {
  out(`${line}\n`);
};

function platform(): ResolverPlatform {
  const p = process.platform;
  if (p === 'linux' || p === 'darwin' || p === 'win32') return p;
  throw new SystemChangeError(`dotstub cannot change the resolver of ${p} (linux, darwin and win32 only)`);
}

/** A wildcard listen address is reached on loopback. */
const reachable = (a: HostPort): HostPort =>
  a.host === '0.0.0.0' ? { ...a, host: '127.0.0.1' } : a.host === '::' ? { ...a, host: '::1' } : a;

export async function listenTargets(
  listen: readonly string[] | undefined,
  config: string | undefined,
): Promise<HostPort[]> {
  if (listen !== undefined && listen.length > 0)
    return listen.map((l, i) => parseListenAddress(l, `--listen[${i}]`));
  const file = config ?? configFile('system');
  if (config !== undefined || existsSync(file))
    return (await buildDaemonConfig({ config: file })).listen.map((l) =>
      reachable({ host: l.host, port: l.port }),
    );
  return [...DEFAULT_LISTEN];
}

export function resolverEnv(backend: string | undefined): ResolverEnv {
  if (backend !== undefined && !LINUX_BACKENDS.includes(backend as LinuxBackend))
    throw new ConfigError(
      '--backend',
      `${JSON.stringify(backend)} is not one of ${LINUX_BACKENDS.join(', ')}`,
    );
  return {
    platform: platform(),
    root: '/',
    runner: realRunner,
    stateFile: join(dataDir('system'), 'system-resolver.json'),
    now: () => new Date(),
    backend: backend as LinuxBackend | undefined,
  };
}

function holdersText(): string {
  if (process.platform !== 'linux') return '';
  const holders = findPort53Holders();
  if (holders.length === 0) return '\nNothing holds port 53 on this machine.';
  const seen = new Set<string>();
  const lines = holders.map((h) => {
    const where = `  ${h.name} (pid ${h.pid}) on ${h.address} port 53/${h.protocol}`;
    if (seen.has(h.name)) return where;
    seen.add(h.name);
    return `${where}\n    what to do: ${adviceFor(h.name)}`;
  });
  return `\nPort 53 is held by:\n${lines.join('\n')}`;
}

/** An answer on port 53 proves nothing if another resolver holds that port: it may have answered. */
function refuseImpostors(ok: readonly HostPort[], dryRun: boolean): void {
  if (process.platform !== 'linux') return;
  const on53 = ok.filter((t) => t.port === 53).map((t) => t.host);
  const others = on53.length === 0 ? [] : otherHolders(findPort53Holders(), on53);
  if (others.length === 0) return;
  const names = others.map(
    (h) => `${h.name} (pid ${h.pid}) on ${h.address}/${h.protocol}: ${adviceFor(h.name)}`,
  );
  const message = `port 53 on ${on53.join(', ')} is held by another resolver, which may be what answered, not dotstub:\n  ${names.join('\n  ')}`;
  if (!dryRun) throw new SystemChangeError(message, undefined, 'ERR_DOTSTUB_NOT_ANSWERING');
  out(`warning: ${message}\n`);
}

/** The listen addresses that answer; refuses when none does, so the machine never loses DNS. */
async function answering(targets: readonly HostPort[], dryRun: boolean): Promise<HostPort[]> {
  const ok: HostPort[] = [];
  const failures: string[] = [];
  for (const t of targets) {
    const r = await probeDns(t);
    if (r.ok) ok.push(t);
    else failures.push(`${t.host} port ${t.port}: ${r.reason}`);
  }
  if (ok.length > 0) {
    for (const f of failures) out(`warning: leaving out ${f}\n`);
    refuseImpostors(ok, dryRun);
    return ok;
  }
  const message = `dotstub does not answer, so the resolver was left alone (${failures.join('; ')}).
Start it first (\`sudo dotstub service install\`), or name where it listens with --listen.${holdersText()}`;
  if (!dryRun) throw new SystemChangeError(message, undefined, 'ERR_DOTSTUB_NOT_ANSWERING');
  out(`warning: ${message}\n`);
  return [...targets];
}

function requireAdmin(): void {
  if (process.platform !== 'win32' && process.getuid?.() !== 0)
    throw new SystemChangeError(
      'changing the system resolver needs root: run it with sudo',
      undefined,
      'ERR_DOTSTUB_PERMISSION',
    );
}

async function enable(values: { 'dry-run'?: boolean; listen?: string[]; config?: string; backend?: string }) {
  const dryRun = values['dry-run'] === true;
  if (!dryRun) requireAdmin();
  const env = resolverEnv(values.backend);
  const servers = await answering(await listenTargets(values.listen, values.config), dryRun);
  const { plan, backend, savesState, warnings } = await planEnable(env, servers);
  for (const w of warnings) out(`warning: ${w}\n`);
  if (dryRun) {
    out(`would change the resolver through ${backend}:\n${formatPlan(plan)}`);
    return 0;
  }
  try {
    await executePlan(plan, { root: env.root, runner: env.runner, report });
  } catch (err) {
    // Whatever was changed before the failure, the original is saved: disable puts it back.
    throw new SystemChangeError(
      `${(err as Error).message}\nThe previous settings are saved in ${env.stateFile}: \`sudo dotstub system disable\` puts them back.`,
      err,
    );
  }
  out(
    `dotstub is now this machine's resolver (${backend}). ${savesState ? 'The previous settings were saved in' : 'The settings saved by the first enable stay in'} ${env.stateFile}; \`dotstub system disable\` puts them back.\n`,
  );
  return 0;
}

async function disable(values: { 'dry-run'?: boolean; backend?: string }) {
  const dryRun = values['dry-run'] === true;
  if (!dryRun) requireAdmin();
  const env = resolverEnv(values.backend);
  const planned = planDisable(env);
  if (planned === undefined) {
    out(
      `nothing to put back: no saved settings at ${env.stateFile} (dotstub system enable has not changed this machine)\n`,
    );
    return 0;
  }
  if (dryRun) {
    out(`would restore the resolver through ${planned.backend}:\n${formatPlan(planned.plan)}`);
    return 0;
  }
  await executePlan(planned.plan, { root: env.root, runner: env.runner, report });
  out(`the previous resolver settings are back (${planned.backend}); ${env.stateFile} removed\n`);
  return 0;
}

export async function systemCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true });
  const [action, ...extra] = positionals;
  if (values.help === true || action === undefined) {
    out(`${SYSTEM_USAGE}\n`);
    return values.help === true ? 0 : 64;
  }
  if (extra.length > 0)
    throw new ConfigError('', `unexpected argument ${JSON.stringify(extra[0])}\n${SYSTEM_USAGE}`);
  switch (action) {
    case 'enable':
      return enable(values);
    case 'disable':
      return disable(values);
    case 'status':
      return systemStatus(
        resolverEnv(values.backend),
        await listenTargets(values.listen, values.config),
        values.control,
      );
    default:
      process.stderr.write(`dotstub system: unknown action ${JSON.stringify(action)}\n${SYSTEM_USAGE}\n`);
      return 64;
  }
}
