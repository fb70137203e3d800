/** `dotstub system status`: who resolves for this machine now, and whether its queries leave encrypted. */
import { readFileSync } from 'node:fs';
import type { HostPort } from '../config/addresses.js';
import { describeCause } from '../errors.js';
import { underRoot } from '../system/executor.js';
import {
  detectLinuxBackend,
  nameservers,
  readResolvConf,
  RESOLVED_DROP_IN,
} from '../system/linux-resolver.js';
import { gatherMacServices } from '../system/macos-resolver.js';
import { readSavedState, type ResolverEnv } from '../system/os-resolver.js';
import { probeDns } from '../system/probe.js';
import { powershell } from '../system/windows-resolver.js';
import { callDaemon } from './control-client.js';

const LOOPBACK = /^(127\.|::1$)/;

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Lines describing the machine's resolvers, and the addresses they name. */
async function currentResolvers(env: ResolverEnv): Promise<{ lines: string[]; servers: string[] }> {
  if (env.platform === 'linux') {
    const backend = detectLinuxBackend(env.root);
    const servers = nameservers(readResolvConf(env.root) ?? '');
    const lines = [`/etc/resolv.conf names: ${servers.join(', ') || '(none)'} (managed by ${backend})`];
    if (backend !== 'resolved') return { lines, servers };
    const resolvedServers = nameservers(readOr(underRoot(env.root, '/run/systemd/resolve/resolv.conf')));
    const dropIn = readOr(underRoot(env.root, RESOLVED_DROP_IN)) !== '';
    lines.push(`systemd-resolved forwards to: ${resolvedServers.join(', ') || '(unknown)'}`);
    lines.push(`dotstub's resolved drop-in ${RESOLVED_DROP_IN}: ${dropIn ? 'present' : 'absent'}`);
    return { lines, servers: dropIn ? ['127.0.0.1'] : resolvedServers };
  }
  if (env.platform === 'darwin') {
    const services = await gatherMacServices(env.runner);
    return {
      lines: services.map((s) => `${s.name}: ${s.servers.length === 0 ? 'from DHCP' : s.servers.join(', ')}`),
      servers: services.flatMap((s) => s.servers),
    };
  }
  const r = await env.runner(
    powershell('Get-DnsClientServerAddress | Format-Table -AutoSize | Out-String -Width 200'),
  );
  const servers = [...r.stdout.matchAll(/\{([^}]*)\}/g)].flatMap((m) => (m[1] ?? '').split(/,\s*/));
  return { lines: r.stdout.split('\n').filter((l) => l.trim() !== ''), servers };
}

interface DaemonView {
  readonly line: string;
  readonly profiles: string[] | undefined;
}

/** Asks the daemon's control channel; `status` if it has one, else `ping`. */
async function daemonView(control: string | undefined): Promise<DaemonView> {
  const path = control === undefined ? {} : { path: control };
  try {
    const status = (await callDaemon('status', undefined, { ...path, timeoutMs: 2000 })) as {
      upstreams?: { profile?: string }[];
    };
    const profiles = status.upstreams?.map((u) => u.profile ?? 'strict');
    return { line: 'the daemon answers on its control channel', profiles };
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_DOTSTUB_CONTROL_METHOD')
      return { line: `control channel: ${(err as Error).message}`, profiles: undefined };
  }
  try {
    const ping = (await callDaemon('ping', undefined, { ...path, timeoutMs: 2000 })) as { pid?: number };
    return {
      line: `the daemon answers on its control channel (pid ${ping.pid ?? '?'})`,
      profiles: undefined,
    };
  } catch (err) {
    return { line: `control channel: ${(err as Error).message}`, profiles: undefined };
  }
}

function encryption(pointsAtDotstub: boolean, answers: boolean, profiles: string[] | undefined): string {
  if (!pointsAtDotstub) return 'no: the machine does not ask dotstub (`dotstub system enable`)';
  if (!answers)
    return 'no answers: the machine asks dotstub, but dotstub does not answer (`dotstub service start`)';
  if (profiles === undefined) return 'unknown: dotstub answers, but did not say its upstream profile';
  if (profiles.every((p) => p === 'strict')) return 'yes: every upstream is Strict (authenticated TLS only)';
  return 'when possible: Opportunistic upstreams fall back to clear text when TLS cannot be set up';
}

export async function systemStatus(
  env: ResolverEnv,
  targets: readonly HostPort[],
  control: string | undefined,
): Promise<number> {
  const { lines, servers } = await currentResolvers(env);
  let saved: { savedAt: string } | undefined;
  let savedLine: string;
  try {
    saved = readSavedState(env);
    savedLine =
      saved === undefined ? 'no' : `yes, since ${saved.savedAt} (previous settings in ${env.stateFile})`;
  } catch (err) {
    // The saved state is root's (mode 0600): a user's status still reports the rest.
    savedLine = `unknown (${(err as Error).message}: ${describeCause((err as Error).cause)})`;
  }
  const probes = await Promise.all(targets.map(async (t) => ({ t, r: await probeDns(t, 1500) })));
  const answers = probes.some((p) => p.r.ok);
  const daemon = await daemonView(control);
  const pointsAtDotstub = servers.length > 0 && servers.every((s) => LOOPBACK.test(s) && s !== '127.0.0.53');
  const text = [
    'resolvers now:',
    ...lines.map((l) => `  ${l}`),
    `set by dotstub: ${savedLine}`,
    'dotstub:',
    ...probes.map(
      ({ t, r }) => `  ${t.host} port ${t.port}: ${r.ok ? 'answers' : `does not answer (${r.reason})`}`,
    ),
    `  ${daemon.line}`,
    `queries leave encrypted: ${encryption(pointsAtDotstub || saved !== undefined, answers, daemon.profiles)}`,
  ];
  process.stdout.write(`${text.join('\n')}\n`);
  return 0;
}
