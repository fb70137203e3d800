/**
 * Split DNS as a pure lookup table: which names go to which servers instead of the public upstreams, and
 * which zones dotstub answers itself. The longest matching suffix wins, label by label and without regard
 * to case (RFC 4343); a configured rule wins over a locally served zone of the same length, so a rule can
 * send `168.192.in-addr.arpa` to the router.
 */
import type { Upstream } from '../upstream/upstream.js';
import { LOCALHOST_ZONE } from '../dns/local-zone.js';

export interface SplitRule {
  /** Lower-case names without the trailing dot (`corp.example`). */
  readonly suffixes: readonly string[];
  readonly upstreams: readonly Upstream[];
  /** Where the rule came from, for logs and status. */
  readonly source: 'config' | 'system';
  /** True when the servers are asked in clear (the user said so, or a VPN's resolver). */
  readonly clear: boolean;
}

export type SplitMatch =
  | { readonly kind: 'rule'; readonly rule: SplitRule; readonly suffix: string }
  | { readonly kind: 'local'; readonly zone: string };

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

const NIBBLE_ZEROS = Array.from({ length: 31 }, () => '0').join('.');

/**
 * Zones that never go to the public upstreams. RFC 6303 sec. 4: RFC 1918 (4.1), RFC 5735/5737 special
 * ranges (4.2), :: and ::1 (4.3), ULA fd00::/8 (4.4), link-local fe80::/10 (4.5) and the documentation
 * prefix (4.6); RFC 6598 shared address space 100.64/10 (added by RFC 7793); and `local` (RFC 6762 sec.
 * 22.1: caching DNS servers "SHOULD generate immediate NXDOMAIN responses" for it); and `localhost`
 * (RFC 6761 sec. 6.3: caching servers "SHOULD NOT attempt to look up" its names, and answer address
 * queries with the loopback address themselves; local-zone.ts).
 */
export const LOCALLY_SERVED_ZONES: readonly string[] = [
  '10.in-addr.arpa',
  ...range(16, 31).map((n) => `${n}.172.in-addr.arpa`),
  '168.192.in-addr.arpa',
  ...range(64, 127).map((n) => `${n}.100.in-addr.arpa`),
  '0.in-addr.arpa',
  '127.in-addr.arpa',
  '254.169.in-addr.arpa',
  '2.0.192.in-addr.arpa',
  '100.51.198.in-addr.arpa',
  '113.0.203.in-addr.arpa',
  '255.255.255.255.in-addr.arpa',
  `0.${NIBBLE_ZEROS}.ip6.arpa`,
  `1.${NIBBLE_ZEROS}.ip6.arpa`,
  'd.f.ip6.arpa',
  '8.e.f.ip6.arpa',
  '9.e.f.ip6.arpa',
  'a.e.f.ip6.arpa',
  'b.e.f.ip6.arpa',
  '8.b.d.0.1.0.0.2.ip6.arpa',
  'local',
  LOCALHOST_ZONE,
];

/** `Corp.Example.` -> `corp.example`; the root stays ''. */
export function normalizeName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

const SLASH = 0x2f;
const DOT = 0x2e;

/**
 * The last `code` in `s` at or before `from`, or -1. String.prototype.lastIndexOf is a C++ builtin in V8
 * (a call out of JIT code every time; three a query, 0.6 % of the profile at the maximum), while this
 * loop inlines, and the characters it scans here are few: a key's type and class, a name's last label.
 */
function lastIndexOfCode(s: string, code: number, from = s.length - 1): number {
  let i = from;
  while (i >= 0 && s.charCodeAt(i) !== code) i--;
  return i;
}

/** Where the name of a question key (`name./type/class`) ends, its final dot left out; -1 without `/type/class`. */
function nameEndOfKey(key: string): number {
  const typeAt = lastIndexOfCode(key, SLASH, lastIndexOfCode(key, SLASH) - 1);
  if (typeAt < 0) return -1;
  return key.charCodeAt(typeAt - 1) === DOT ? typeAt - 1 : typeAt;
}

/**
 * The name of a question key (`name./type/class`, see dns/wire.ts) without its final dot. The key is
 * lower-cased already (ASCII, RFC 4343), so this is one slice.
 */
export function nameOfKey(key: string): string {
  const end = nameEndOfKey(key);
  return end < 0 ? normalizeName(key) : key.slice(0, end);
}

export class SplitRoutes {
  readonly rules: readonly SplitRule[];
  readonly #bySuffix = new Map<string, SplitRule>();
  readonly #local: ReadonlySet<string>;
  /**
   * The top-level labels of every suffix and zone: a name under any other (most names, under com, org,
   * net...) matches nothing, found without walking it. A short list, compared in place (#mayMatch).
   */
  readonly #lastLabels: readonly string[];

  /** Later rules override earlier ones for the same suffix (config rules are given after system ones). */
  constructor(rules: readonly SplitRule[], localZones: readonly string[] = LOCALLY_SERVED_ZONES) {
    this.rules = rules;
    for (const rule of rules) for (const suffix of rule.suffixes) this.#bySuffix.set(suffix, rule);
    this.#local = new Set(localZones);
    const lastLabels = new Set<string>();
    // No suffix is the root: the config refuses "" and system-domains.ts drops the catch-all "~.".
    for (const zone of [...this.#bySuffix.keys(), ...localZones])
      lastLabels.add(zone.slice(zone.lastIndexOf('.') + 1));
    this.#lastLabels = [...lastLabels];
  }

  /** The rule or local zone for `name` (any case, trailing dot or not), or undefined for the public upstreams. */
  match(name: string): SplitMatch | undefined {
    return this.matchNormalized(normalizeName(name));
  }

  /**
   * match() for a question key (dns/wire.ts: lower-cased already): the resolver's path, for every query.
   * A name under none of the rules' and zones' top-level labels (most names) costs no string at all; the
   * name is sliced out only to walk it.
   */
  matchKey(key: string): SplitMatch | undefined {
    const end = nameEndOfKey(key);
    if (end < 0) return this.match(key);
    return this.#mayMatch(key, end) ? this.#walk(key.slice(0, end)) : undefined;
  }

  /**
   * match() for a name already lower-case without its final dot (nameOfKey's), where lower-casing again
   * went to V8's runtime each time (0.5 % of the profile at the max).
   */
  matchNormalized(name: string): SplitMatch | undefined {
    return this.#mayMatch(name, name.length) ? this.#walk(name) : undefined;
  }

  /** Whether the name s[0, end) has one of #lastLabels as its last label, compared in place. */
  #mayMatch(s: string, end: number): boolean {
    const start = lastIndexOfCode(s, DOT, end - 1) + 1;
    for (const label of this.#lastLabels)
      if (label.length === end - start && s.startsWith(label, start)) return true;
    return false;
  }

  /** The most specific rule or local zone for `name`, from the whole name up. */
  #walk(name: string): SplitMatch | undefined {
    let candidate = name;
    for (;;) {
      const rule = this.#bySuffix.get(candidate);
      if (rule !== undefined) return { kind: 'rule', rule, suffix: candidate };
      if (this.#local.has(candidate)) return { kind: 'local', zone: candidate };
      const dot = candidate.indexOf('.');
      if (dot < 0) return undefined;
      candidate = candidate.slice(dot + 1);
    }
  }
}
