/**
 * Live reconfiguration (SIGHUP, `dotstub reload`). The new settings are compared with the running ones:
 * an upstream with the same spec and connection settings keeps its object, so its connections, sessions
 * and health survive; new ones are created; removed ones stop taking queries and close once every query
 * that could still pick them has finished. Listeners likewise: unchanged ones stay bound, new ones open
 * before removed ones close. Nothing is touched until the new listeners are bound, so a failure leaves
 * the daemon as it was.
 */
import type { ResolverOptions } from '../resolver/resolver.js';
import type { Resolver } from '../resolver/resolver.js';
import {
  createClearUpstream,
  createUpstream,
  type SharedUpstreamOptions,
} from '../upstream/create-upstream.js';
import type { TlsUpstream } from '../upstream/tls-upstream.js';
import type { Upstream } from '../upstream/upstream.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { BoundAddress, DaemonOptions, ListenSpec } from './daemon.js';
import type { TcpListener } from './tcp-listener.js';
import type { UdpListener } from './udp-listener.js';

export interface LiveUpstream {
  readonly key: string;
  readonly upstream: Upstream;
  /** The TLS part, for counters and status (undefined for a clear-text fallback server). */
  readonly tls: TlsUpstream | undefined;
}

export interface LiveListener {
  readonly key: string;
  readonly udp: UdpListener;
  readonly tcp: TcpListener;
  readonly address: BoundAddress;
}

/** What a reload changed, for the log and for `dotstub reload`. */
export interface ReloadSummary {
  readonly upstreams: { readonly kept: number; readonly added: number; readonly removed: number };
  readonly listen: { readonly kept: number; readonly added: number; readonly removed: number };
}

export type ReloadOptions = Omit<DaemonOptions, 'logger' | 'clock' | 'control' | 'tcp'>;

export function sharedUpstreamOptions(
  options: ReloadOptions,
  extraCa: string[] | undefined,
  clock: Clock,
  logger: Logger,
): SharedUpstreamOptions {
  return {
    ...(extraCa === undefined ? {} : { extraCa }),
    connectTimeoutMs: options.connectTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs,
    stallTimeoutMs: options.timeoutMs,
    maxConnections: options.maxConnectionsPerUpstream,
    maxInFlightPerConnection: options.maxInFlightPerConnection,
    padBlock: options.paddingBlockSize,
    minTlsVersion: options.minTlsVersion ?? 'TLSv1.2',
    ecsPrivate: options.ecsPrivate ?? true,
    nudgeAfterTicket: options.nudgeAfterTicket ?? true,
    clock,
    logger,
  };
}

/** Same key, same behaviour: the spec and every setting an upstream object was built with. */
function upstreamKey(role: string, spec: unknown, shared: SharedUpstreamOptions): string {
  // The clock and logger are the process's own; every other field is a setting.
  const settings = Object.entries(shared).filter(([name]) => name !== 'clock' && name !== 'logger');
  return JSON.stringify([role, spec, settings]);
}

/** The upstreams for `options`, reusing the objects in `previous` whose key is unchanged. */
export function buildUpstreams(
  options: ReloadOptions,
  shared: SharedUpstreamOptions,
  previous: readonly LiveUpstream[],
): LiveUpstream[] {
  const pool = new Map(previous.map((l) => [l.key, l]));
  const take = (key: string, make: () => Omit<LiveUpstream, 'key'>): LiveUpstream => {
    const old = pool.get(key);
    // A key used twice (the same upstream listed twice) gets a second object the second time.
    pool.delete(key);
    return old ?? { key, ...make() };
  };
  const tls = options.upstreams.map((spec) =>
    take(upstreamKey('tls', spec, shared), () => {
      const created = createUpstream(spec, shared);
      return { upstream: created.upstream, tls: created.tls };
    }),
  );
  // Configured fallback servers come last: the resolver ranks them below every DoT upstream.
  const fallback = (options.fallback ?? []).map((spec) =>
    take(upstreamKey('fallback', spec, shared), () => ({
      upstream: createClearUpstream(spec, shared, 'fallback'),
      tls: undefined,
    })),
  );
  return [...tls, ...fallback];
}

export function resolverOptions(
  options: ReloadOptions,
  upstreams: readonly LiveUpstream[],
  clock: Clock,
  logger: Logger,
): ResolverOptions {
  return {
    upstreams: upstreams.map((l) => l.upstream),
    strategy: options.selection,
    timeoutMs: options.timeoutMs,
    maxOutstanding: options.maxOutstanding,
    backoff: options.backoff,
    ecsPrivate: options.ecsPrivate ?? true,
    clock,
    logger,
  };
}

export const listenKey = (spec: ListenSpec): string => `${spec.host.toLowerCase()}|${spec.port}`;

export interface DaemonState {
  upstreams: LiveUpstream[];
  listeners: LiveListener[];
  readonly resolver: Resolver;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Binds UDP and TCP for one address (undefined: an optional address the machine lacks). */
  readonly bind: (spec: ListenSpec) => Promise<LiveListener | undefined>;
  readonly readCa: (path: string | undefined) => string[] | undefined;
  /** Told after the new upstreams are in place (the router and the cache follow them). */
  readonly reconfigured?:
    | ((options: ReloadOptions, upstreams: readonly LiveUpstream[], upstreamsChanged: boolean) => void)
    | undefined;
}

async function openListeners(
  state: DaemonState,
  wanted: readonly ListenSpec[],
): Promise<{ next: LiveListener[]; opened: LiveListener[] }> {
  const current = new Map(state.listeners.map((l) => [l.key, l]));
  const next: LiveListener[] = [];
  const opened: LiveListener[] = [];
  try {
    for (const spec of wanted) {
      const key = listenKey(spec);
      const kept = current.get(key);
      const live = kept ?? (await state.bind(spec));
      if (live === undefined) continue;
      if (kept === undefined) opened.push(live);
      else current.delete(key);
      next.push(live);
    }
  } catch (err) {
    await Promise.all(opened.flatMap((l) => [l.udp.close(), l.tcp.close()]));
    throw err;
  }
  return { next, opened };
}

/** Applies `options` to the running daemon; throws (changing nothing) when a new listener cannot bind. */
export async function reloadDaemon(state: DaemonState, options: ReloadOptions): Promise<ReloadSummary> {
  const extraCa = state.readCa(options.caFile);
  const { next, opened } = await openListeners(state, options.listen);
  const removedListeners = state.listeners.filter((l) => !next.includes(l));
  const shared = sharedUpstreamOptions(options, extraCa, state.clock, state.logger);
  const upstreams = buildUpstreams(options, shared, state.upstreams);
  const dropped = state.resolver.reconfigure(resolverOptions(options, upstreams, state.clock, state.logger));
  const added = upstreams.filter((u) => !state.upstreams.includes(u)).length;
  state.upstreams = upstreams;
  state.listeners = next;
  state.reconfigured?.(options, upstreams, added > 0 || dropped.length > 0);
  // Removed listeners answer what they already received; removed upstreams finish the queries in flight.
  void Promise.all(removedListeners.flatMap((l) => [l.udp.close(), l.tcp.close()]));
  void state.resolver.drained().then(() => Promise.all(dropped.map((u) => u.close())));
  return {
    upstreams: { kept: upstreams.length - added, added, removed: dropped.length },
    listen: { kept: next.length - opened.length, added: opened.length, removed: removedListeners.length },
  };
}
