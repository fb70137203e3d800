/**
 * Who holds port 53: the kernel's socket tables (/proc/net/{udp,tcp}{,6}) give the inode of every socket bound
 * to port 53 (hex 0035), and /proc/PID/fd links (`socket:[INODE]`) give the process. Read under a root prefix,
 * so tests feed a made-up /proc.
 */
import { Buffer } from 'node:buffer';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { underRoot } from './executor.js';

export interface PortHolder {
  readonly pid: number;
  readonly name: string;
  readonly address: string;
  readonly protocol: 'udp' | 'tcp';
}

const TCP_LISTEN = '0A';

function hexAddress(hex: string): string {
  if (hex.length === 8) {
    const b = Buffer.from(hex, 'hex');
    return `${b[3]}.${b[2]}.${b[1]}.${b[0]}`;
  }
  // IPv6: four 32-bit words, each in host (little-endian) order.
  const words = hex.match(/.{8}/g) ?? [];
  const bytes = Buffer.concat(words.map((w) => Buffer.from(w, 'hex').reverse()));
  const groups = (bytes.toString('hex').match(/.{4}/g) ?? []).map((g) => g.replace(/^0+(?=.)/, ''));
  return groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
}

/** Sockets bound to port 53 in one /proc/net table: address and inode. */
export function parseSocketTable(
  text: string,
  protocol: 'udp' | 'tcp',
): { address: string; inode: string }[] {
  const out: { address: string; inode: string }[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    const [addr, port] = (f[1] ?? '').split(':');
    if (port !== '0035' || addr === undefined) continue;
    if (protocol === 'tcp' && f[3] !== TCP_LISTEN) continue;
    out.push({ address: hexAddress(addr), inode: f[9] ?? '' });
  }
  return out;
}

function inodeOwners(root: string, inodes: ReadonlySet<string>): Map<string, number> {
  const owners = new Map<string, number>();
  const proc = underRoot(root, '/proc');
  for (const pid of readdirSync(proc).filter((p) => /^\d+$/.test(p))) {
    let fds: string[];
    try {
      fds = readdirSync(join(proc, pid, 'fd'));
    } catch {
      continue;
    }
    for (const fd of fds) {
      const m = /^socket:\[(\d+)\]$/.exec(safeReadlink(join(proc, pid, 'fd', fd)));
      if (m?.[1] !== undefined && inodes.has(m[1])) owners.set(m[1], Number(pid));
    }
  }
  return owners;
}

function safeReadlink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

export function findPort53Holders(root = '/'): PortHolder[] {
  const sockets = (['udp', 'udp6', 'tcp', 'tcp6'] as const).flatMap((table) => {
    const protocol: 'udp' | 'tcp' = table.startsWith('udp') ? 'udp' : 'tcp';
    return parseSocketTable(readOr(underRoot(root, `/proc/net/${table}`), ''), protocol).map((s) => ({
      ...s,
      protocol,
    }));
  });
  if (sockets.length === 0) return [];
  const owners = inodeOwners(root, new Set(sockets.map((s) => s.inode)));
  return sockets.flatMap((s) => {
    const pid = owners.get(s.inode);
    if (pid === undefined) return [];
    const name = readOr(underRoot(root, `/proc/${pid}/comm`), '?').trim();
    return [{ pid, name, address: s.address, protocol: s.protocol }];
  });
}

/** What to do about a program that holds port 53, by its name. */
export function adviceFor(name: string): string {
  if (name === 'systemd-resolve' || name === 'systemd-resolved')
    return 'systemd-resolved: its stub listens on 127.0.0.53 only, so dotstub can listen on 127.0.0.1 beside it (`dotstub system enable` then points resolved at dotstub); if it holds 127.0.0.1 too, set DNSStubListener=no';
  if (name === 'dnsmasq')
    return 'dnsmasq: stop it (`systemctl disable --now dnsmasq`), or give it `bind-interfaces` and a listen-address other than 127.0.0.1';
  if (name === 'stubby' || name === 'unbound' || name === 'named' || name === 'kresd')
    return `${name}: another resolver; stop it (\`systemctl disable --now ${name}\`) or move it off port 53`;
  if (name === 'node' || name === 'dotstub')
    return `${name}: possibly dotstub itself (or another Node program)`;
  return `${name}: stop it or move it off port 53`;
}

const OURS = new Set(['node', 'dotstub', 'MainThread']);
const WILDCARD = new Set(['0.0.0.0', '::']);

/**
 * Programs other than dotstub holding port 53 on one of `hosts` (or on every address): the resolver that
 * answered the probe may be one of them, not dotstub.
 */
export function otherHolders(holders: readonly PortHolder[], hosts: readonly string[]): PortHolder[] {
  return holders.filter((h) => !OURS.has(h.name) && (hosts.includes(h.address) || WILDCARD.has(h.address)));
}
