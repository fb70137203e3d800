/**
 * macOS: every network service gets dotstub's addresses (IPv4 and IPv6 alike, one `networksetup -setdnsservers`
 * each). A service's previous list is saved; an empty one ("There aren't any DNS Servers set") means the servers
 * came from DHCP, and is restored with the literal argument `Empty`.
 */
import type { CommandRunner } from './executor.js';
import type { Step } from './plan.js';
import { SystemChangeError } from '../errors.js';

export interface MacService {
  readonly name: string;
  /** The manually set servers; empty means DHCP's. */
  readonly servers: readonly string[];
}

async function run(runner: CommandRunner, argv: readonly string[]): Promise<string> {
  const r = await runner(argv);
  if (r.code !== 0)
    throw new SystemChangeError(
      `\`${argv.join(' ')}\` exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`,
    );
  return r.stdout;
}

/** Service names from `networksetup -listallnetworkservices`; a leading `*` marks a disabled one, still set. */
export function parseServiceList(stdout: string): string[] {
  return stdout
    .split('\n')
    .slice(1)
    .map((l) => l.replace(/^\*/, '').trim())
    .filter((l) => l !== '');
}

export function parseDnsServers(stdout: string): string[] {
  if (stdout.includes("aren't any DNS Servers")) return [];
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

export async function gatherMacServices(runner: CommandRunner): Promise<MacService[]> {
  const names = parseServiceList(await run(runner, ['networksetup', '-listallnetworkservices']));
  const services: MacService[] = [];
  for (const name of names)
    services.push({
      name,
      servers: parseDnsServers(await run(runner, ['networksetup', '-getdnsservers', name])),
    });
  return services;
}

/** mDNSResponder keeps answers it got from the old servers until told (Apple's documented flush). */
const FLUSH: Step[] = [
  { kind: 'run', argv: ['dscacheutil', '-flushcache'] },
  { kind: 'run', argv: ['killall', '-HUP', 'mDNSResponder'], mayFail: true },
];

export function macEnableSteps(services: readonly MacService[], servers: readonly string[]): Step[] {
  return [
    ...services.map((s): Step => ({
      kind: 'run',
      argv: ['networksetup', '-setdnsservers', s.name, ...servers],
    })),
    ...FLUSH,
  ];
}

export function macRestoreSteps(saved: readonly MacService[]): Step[] {
  return [
    ...saved.map((s): Step => ({
      kind: 'run',
      argv: ['networksetup', '-setdnsservers', s.name, ...(s.servers.length === 0 ? ['Empty'] : s.servers)],
    })),
    ...FLUSH,
  ];
}
