/**
 * The per-link DNS servers and domains the OS already knows (a VPN's search and routing domains, a
 * router's local domain), read from systemd-resolved (`resolvectl status`) or NetworkManager (`nmcli`),
 * and turned into split rules: those names go in clear to that link's servers, as the OS would send them
 * (a VPN's resolver rarely speaks DoT). Linux only; elsewhere the list is empty.
 */
import { execFile } from 'node:child_process';
import { isIP } from 'node:net';

export interface SystemLink {
  readonly name: string;
  /** IP literals (port, SNI and %zone suffixes removed). */
  readonly servers: readonly string[];
  /** Lower-case, without `~` or the trailing dot. */
  readonly domains: readonly string[];
  /** The link carries the default route for DNS (resolved's +DefaultRoute), when known. */
  readonly defaultRoute?: boolean | undefined;
}

/** `10.0.0.1#dns.example`, `10.0.0.1:53`, `[fe80::1%eth0]:53`, `fd00::1%3` -> the bare IP, or undefined. */
export function bareServer(text: string): string | undefined {
  let s = text.trim().replace(/#.*$/, '');
  const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(s);
  if (bracket?.[1] !== undefined) s = bracket[1];
  else if (/^[\d.]+:\d+$/.test(s)) s = s.replace(/:\d+$/, '');
  s = s.replace(/%.*$/, '');
  return isIP(s) === 0 ? undefined : s;
}

/** `~Corp.Example.` -> `corp.example`; the catch-all `~.` -> undefined. */
function domainOf(text: string): string | undefined {
  const d = text.trim().replace(/^~/, '').replace(/\.$/, '').toLowerCase();
  return d === '' ? undefined : d;
}

interface Draft {
  name: string;
  servers: string[];
  domains: string[];
  defaultRoute?: boolean;
}

function finish(d: Draft): SystemLink {
  return {
    name: d.name,
    servers: [...new Set(d.servers)],
    domains: [...new Set(d.domains)],
    ...(d.defaultRoute === undefined ? {} : { defaultRoute: d.defaultRoute }),
  };
}

/** Adds one `Key: value` of a resolvectl link section to the draft. */
function addResolvectlField(link: Draft, key: string, value: string): void {
  const words = value.split(/\s+/).filter((w) => w !== '');
  if (key === 'DNS Servers' || key === 'Current DNS Server') {
    for (const w of words) {
      const server = bareServer(w);
      if (server !== undefined) link.servers.push(server);
    }
  } else if (key === 'DNS Domain') {
    for (const w of words) {
      const domain = domainOf(w);
      if (domain !== undefined) link.domains.push(domain);
    }
  } else if (key === 'Protocols' || key === 'DefaultRoute setting') {
    if (words.includes('+DefaultRoute') || value.trim() === 'yes') link.defaultRoute = true;
    else if (words.includes('-DefaultRoute') || value.trim() === 'no') link.defaultRoute = false;
  }
}

/**
 * `resolvectl status` (systemd 239 and later): a `Global` section, then `Link N (ifname)` sections of
 * right-aligned `Key: value` lines, long lists continued on lines with no key. Only link sections count:
 * the global section is where dotstub itself is usually configured.
 */
export function parseResolvectlStatus(text: string): SystemLink[] {
  const links: SystemLink[] = [];
  let link: Draft | undefined;
  let key = '';
  for (const line of text.split('\n')) {
    const header = /^Link \d+ \(([^)]+)\)/.exec(line);
    if (header !== null) {
      if (link !== undefined) links.push(finish(link));
      link = { name: header[1] ?? '', servers: [], domains: [] };
      continue;
    }
    if (/^Global\s*$/.test(line)) {
      if (link !== undefined) links.push(finish(link));
      link = undefined;
      continue;
    }
    // A key is capitalised words and a colon followed by a blank; an IPv6 continuation never is.
    const field = /^\s*([A-Z][A-Za-z ]*):(?:\s+(.*))?$/.exec(line);
    if (field !== null) key = field[1] ?? '';
    if (link !== undefined && line.trim() !== '')
      addResolvectlField(link, key, field === null ? line : (field[2] ?? ''));
  }
  if (link !== undefined) links.push(finish(link));
  return links;
}

/** nmcli terse mode escapes `:` and `\` in values with a backslash. */
const unescapeTerse = (s: string): string => s.replace(/\\(.)/g, '$1');

/** `nmcli -t -f GENERAL.DEVICE,IP4.DNS,IP4.DOMAIN,IP6.DNS,IP6.DOMAIN device show`: `KEY[n]:value` lines, devices apart by blank lines. */
export function parseNmcliDeviceShow(text: string): SystemLink[] {
  const links: SystemLink[] = [];
  let link: Draft | undefined;
  for (const line of text.split('\n')) {
    const colon = line.search(/(?<!\\):/);
    if (colon < 0) continue;
    const key = line.slice(0, colon).replace(/\[\d+\]$/, '');
    const value = unescapeTerse(line.slice(colon + 1));
    if (key === 'GENERAL.DEVICE') {
      if (link !== undefined) links.push(finish(link));
      link = { name: value, servers: [], domains: [] };
    } else if (link !== undefined && (key === 'IP4.DNS' || key === 'IP6.DNS')) {
      const server = bareServer(value);
      if (server !== undefined) link.servers.push(server);
    } else if (link !== undefined && (key === 'IP4.DOMAIN' || key === 'IP6.DOMAIN')) {
      const domain = domainOf(value);
      if (domain !== undefined) link.domains.push(domain);
    }
  }
  if (link !== undefined) links.push(finish(link));
  return links;
}

export type CommandRunner = (file: string, args: readonly string[]) => Promise<string>;

export const runCommand: CommandRunner = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, [...args], { timeout: 3000, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout) => {
      if (err === null) resolve(stdout);
      else reject(new Error(`${file} ${args.join(' ')}: ${err.message}`, { cause: err }));
    });
  });

/** resolved first (it knows routing-only domains), NetworkManager when resolved is not running. */
export async function readSystemLinks(run: CommandRunner = runCommand): Promise<SystemLink[]> {
  if (process.platform !== 'linux') return [];
  try {
    return parseResolvectlStatus(await run('resolvectl', ['status', '--no-pager']));
  } catch (resolvedErr) {
    try {
      const fields = 'GENERAL.DEVICE,IP4.DNS,IP4.DOMAIN,IP6.DNS,IP6.DOMAIN';
      return parseNmcliDeviceShow(await run('nmcli', ['-t', '-f', fields, 'device', 'show']));
    } catch (nmErr) {
      const why = (err: unknown): string => (err instanceof Error ? err.message : String(err));
      throw new Error(
        `neither systemd-resolved nor NetworkManager answered: ${why(resolvedErr)}; ${why(nmErr)}`,
        {
          cause: nmErr,
        },
      );
    }
  }
}

const LOOPBACK = /^(127\.|::1$|0\.0\.0\.0$|::$)/;

/**
 * Single-label domains other than these are ignored: a network that hands out `com` as its search domain
 * would otherwise get every .com name in clear.
 */
const PRIVATE_SINGLE_LABELS = new Set([
  'lan',
  'home',
  'internal',
  'intranet',
  'corp',
  'private',
  'localdomain',
]);

export interface SystemRule {
  readonly suffix: string;
  readonly servers: readonly string[];
  readonly link: string;
}

/** Split rules from links that have both domains and servers other than loopback ones (dotstub's own). */
export function systemRules(links: readonly SystemLink[]): { rules: SystemRule[]; ignored: string[] } {
  const rules: SystemRule[] = [];
  const ignored: string[] = [];
  for (const link of links) {
    const servers = link.servers.filter((s) => !LOOPBACK.test(s));
    if (servers.length === 0) continue;
    for (const suffix of link.domains) {
      if (!suffix.includes('.') && !PRIVATE_SINGLE_LABELS.has(suffix)) ignored.push(suffix);
      else rules.push({ suffix, servers, link: link.name });
    }
  }
  return { rules, ignored };
}

/** The network's own resolvers for portal mode: links with the default route first, loopback excluded. */
export function networkServers(links: readonly SystemLink[]): string[] {
  const ordered = [...links].sort(
    (a, b) => Number(b.defaultRoute === true) - Number(a.defaultRoute === true),
  );
  return [...new Set(ordered.flatMap((l) => l.servers).filter((s) => !LOOPBACK.test(s)))];
}

/** `nameserver` lines of a resolv.conf, loopback excluded (when dotstub is the system resolver it is us). */
export function parseResolvConf(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    const server = m?.[1] === undefined ? undefined : bareServer(m[1]);
    if (server !== undefined && !LOOPBACK.test(server)) out.push(server);
  }
  return out;
}
