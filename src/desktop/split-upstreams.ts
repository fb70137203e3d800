/** Builds the upstreams of split rules: configured ones once, the OS's per-link ones on every refresh. */
import type { SplitRule } from '../resolver/split-routes.js';
import {
  CLEAR_DNS_PORT,
  createClearUpstream,
  createUpstream,
  type SharedUpstreamOptions,
} from '../upstream/create-upstream.js';
import type { Upstream, UpstreamSpec } from '../upstream/upstream.js';
import type { SystemRule } from './system-domains.js';

/** One `domains[]` entry of the configuration. */
export interface SplitDomainSpec {
  /** Lower-case, without the trailing dot. */
  readonly suffixes: readonly string[];
  readonly servers: readonly UpstreamSpec[];
  /** Clear DNS (UDP, TCP on truncation) to the servers' port (53 by default) instead of DoT. */
  readonly clear: boolean;
}

export function configRules(domains: readonly SplitDomainSpec[], shared: SharedUpstreamOptions): SplitRule[] {
  return domains.map((d) => ({
    suffixes: d.suffixes,
    upstreams: d.servers.map((spec) =>
      d.clear ? createClearUpstream(spec, shared, 'clear') : createUpstream(spec, shared).upstream,
    ),
    source: 'config',
    clear: d.clear,
  }));
}

/** Clear-text upstreams by server address, kept across refreshes so their health survives. */
export class ClearUpstreams {
  readonly #shared: SharedUpstreamOptions;
  readonly #byAddress = new Map<string, Upstream>();

  constructor(shared: SharedUpstreamOptions) {
    this.#shared = shared;
  }

  get(address: string): Upstream {
    let upstream = this.#byAddress.get(address);
    if (upstream === undefined) {
      upstream = createClearUpstream({ address, port: CLEAR_DNS_PORT, pins: [] }, this.#shared, 'clear');
      this.#byAddress.set(address, upstream);
    }
    return upstream;
  }

  /** Closes and returns the upstreams whose address is not in `keep`. */
  retain(keep: ReadonlySet<string>): Upstream[] {
    const dropped: Upstream[] = [];
    for (const [address, upstream] of this.#byAddress) {
      if (keep.has(address)) continue;
      this.#byAddress.delete(address);
      void upstream.close();
      dropped.push(upstream);
    }
    return dropped;
  }

  all(): Upstream[] {
    return [...this.#byAddress.values()];
  }
}

/** Split rules from the OS's links, one per suffix, sharing upstreams by address. */
export function systemSplitRules(rules: readonly SystemRule[], cache: ClearUpstreams): SplitRule[] {
  return rules.map((r) => ({
    suffixes: [r.suffix],
    upstreams: r.servers.map((s) => cache.get(s)),
    source: 'system',
    clear: true,
  }));
}
