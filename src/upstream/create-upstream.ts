/** Turns an upstream spec and its usage profile into the right Upstream (dnsproxy-style factory). */
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { OpportunisticUpstream } from './opportunistic-upstream.js';
import { PlainUpstream } from './plain-upstream.js';
import { TlsUpstream, type TlsUpstreamOptions } from './tls-upstream.js';
import { PROFILE_RULES } from './usage-profile.js';
import type { Upstream, UpstreamSpec } from './upstream.js';

export const CLEAR_DNS_PORT = 53;

export type SharedUpstreamOptions = Omit<TlsUpstreamOptions, 'spec'>;

export interface CreatedUpstream {
  /** What the resolver uses. */
  readonly upstream: Upstream;
  /** Its TLS part, for counters and status. */
  readonly tls: TlsUpstream;
}

export function createUpstream(spec: UpstreamSpec, shared: SharedUpstreamOptions): CreatedUpstream {
  const tls = new TlsUpstream({ ...shared, spec });
  if (PROFILE_RULES[spec.profile ?? 'strict'].onTlsFailure === 'fail') return { upstream: tls, tls };
  // RFC 7858 sec. 3.1: never clear text to the TLS port; the fallback goes to the server's DNS port.
  const clear = createClearUpstream(
    { address: spec.address, port: spec.clearPort ?? CLEAR_DNS_PORT, pins: [] },
    shared,
    'clear',
  );
  return {
    upstream: new OpportunisticUpstream({ tls, clear, clock: shared.clock, logger: shared.logger }),
    tls,
  };
}

/** A clear-text server: the Opportunistic fallback of a DoT upstream, or a configured `fallback` server. */
export function createClearUpstream(
  spec: UpstreamSpec,
  shared: { readonly clock: Clock; readonly logger: Logger; readonly ecsPrivate?: boolean | undefined },
  role: 'clear' | 'fallback',
): PlainUpstream {
  return new PlainUpstream({
    spec,
    clock: shared.clock,
    logger: shared.logger,
    role,
    ecsPrivate: shared.ecsPrivate,
  });
}
