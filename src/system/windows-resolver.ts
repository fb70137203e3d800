/**
 * Windows: every interface that is up gets dotstub's addresses for IPv4 and IPv6 (Set-DnsClientServerAddress
 * takes both families in one list). Whether the previous servers were set by hand or came from DHCP is read
 * from the interface's NameServer registry value, because Get-DnsClientServerAddress shows both alike; DHCP's
 * come back with -ResetServerAddresses.
 */
import type { CommandRunner } from './executor.js';
import type { Step } from './plan.js';
import { SystemChangeError } from '../errors.js';

export interface WinInterface {
  readonly index: number;
  readonly alias: string;
  /** Servers set by hand; null when they came from DHCP (or router advertisements for IPv6). */
  readonly ipv4: readonly string[] | null;
  readonly ipv6: readonly string[] | null;
}

export const powershell = (script: string): string[] => [
  'powershell.exe',
  '-NoProfile',
  '-NonInteractive',
  '-Command',
  script,
];

const REG = 'HKLM:\\SYSTEM\\CurrentControlSet\\Services';

export const GATHER_SCRIPT = `$ErrorActionPreference = 'Stop'
$list = @(Get-NetAdapter | Where-Object Status -eq 'Up' | ForEach-Object {
  $i = $_.ifIndex; $g = $_.InterfaceGuid
  $s4 = (Get-ItemProperty -Path "${REG}\\Tcpip\\Parameters\\Interfaces\\$g" -Name NameServer -ErrorAction SilentlyContinue).NameServer
  $s6 = (Get-ItemProperty -Path "${REG}\\Tcpip6\\Parameters\\Interfaces\\$g" -Name NameServer -ErrorAction SilentlyContinue).NameServer
  [pscustomobject]@{ index = $i; alias = $_.Name; ipv4Static = [bool]$s4; ipv6Static = [bool]$s6
    ipv4 = @((Get-DnsClientServerAddress -InterfaceIndex $i -AddressFamily IPv4).ServerAddresses)
    ipv6 = @((Get-DnsClientServerAddress -InterfaceIndex $i -AddressFamily IPv6).ServerAddresses) }
})
ConvertTo-Json -InputObject $list -Compress -Depth 3`;

interface Raw {
  index: number;
  alias: string;
  ipv4Static: boolean;
  ipv6Static: boolean;
  ipv4: string[] | null;
  ipv6: string[] | null;
}

export function parseInterfaces(stdout: string): WinInterface[] {
  const raw = JSON.parse(stdout) as Raw[] | Raw;
  return (Array.isArray(raw) ? raw : [raw]).map((r) => ({
    index: r.index,
    alias: r.alias,
    ipv4: r.ipv4Static ? (r.ipv4 ?? []) : null,
    ipv6: r.ipv6Static ? (r.ipv6 ?? []) : null,
  }));
}

export async function gatherWinInterfaces(runner: CommandRunner): Promise<WinInterface[]> {
  const r = await runner(powershell(GATHER_SCRIPT));
  if (r.code !== 0)
    throw new SystemChangeError(`reading the interfaces' DNS servers failed: ${r.stderr.trim()}`);
  return parseInterfaces(r.stdout);
}

const psList = (items: readonly string[]): string => `(${items.map((i) => `'${i}'`).join(',')})`;
const FLUSH: Step = { kind: 'run', argv: powershell('Clear-DnsClientCache') };

export function winEnableSteps(interfaces: readonly WinInterface[], servers: readonly string[]): Step[] {
  return [
    ...interfaces.map((i): Step => ({
      kind: 'run',
      argv: powershell(
        `Set-DnsClientServerAddress -InterfaceIndex ${i.index} -ServerAddresses ${psList(servers)}`,
      ),
    })),
    FLUSH,
  ];
}

function restoreOne(i: WinInterface): Step[] {
  const reset: Step = {
    kind: 'run',
    argv: powershell(`Set-DnsClientServerAddress -InterfaceIndex ${i.index} -ResetServerAddresses`),
  };
  const manual = [...(i.ipv4 ?? []), ...(i.ipv6 ?? [])];
  // A reset puts both families back on DHCP; the family that was set by hand is set again after it.
  if (manual.length === 0) return [reset];
  const set: Step = {
    kind: 'run',
    argv: powershell(
      `Set-DnsClientServerAddress -InterfaceIndex ${i.index} -ServerAddresses ${psList(manual)}`,
    ),
  };
  return i.ipv4 !== null && i.ipv6 !== null ? [set] : [reset, set];
}

export function winRestoreSteps(saved: readonly WinInterface[]): Step[] {
  return [...saved.flatMap(restoreOne), FLUSH];
}
