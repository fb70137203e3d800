/**
 * Wiring and lifecycle only: upstreams -> resolver -> listeners. close() stops accepting, answers what is
 * in flight and closes upstream connections; destroy() cuts everything now.
 */
import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { registerDesktopControl } from '../desktop/desktop-control.js';
import { DesktopLife, type DesktopOptions } from '../desktop/desktop-life.js';
import { ConfigError, describeCause, ListenError } from '../errors.js';
import type { CacheConfig, CacheTuning } from '../cache/cache-options.js';
import { ResponseCache } from '../cache/response-cache.js';
import { Resolver } from '../resolver/resolver.js';
import type { BackoffPolicy } from '../util/backoff.js';
import type { SelectionStrategy } from '../resolver/selection.js';
import type { TlsUpstream } from '../upstream/tls-upstream.js';
import {
  createClearUpstream,
  createUpstream,
  type SharedUpstreamOptions,
} from '../upstream/create-upstream.js';
import type { UpstreamSpec } from '../upstream/upstream.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { registerCacheControl } from './cache-control.js';
import { ControlServer } from './control-server.js';
import { newServerCounters, type QueryContext, type ServerCounters } from './query-handler.js';
import { buildStatusSnapshot, type StatusSection } from './status-snapshot.js';
import { DEFAULT_TCP_LIMITS, TcpListener, type TcpLimits } from './tcp-listener.js';
import { UdpListener } from './udp-listener.js';
import { startTlsService, type TlsService, type TlsSettings } from './tls-service.js';
import type { ListenerStatus } from './tls-status.js';

export interface ListenSpec {
  readonly host: string;
  readonly port: number;
  /** An address of the embedded default (::1): skipped with a warning when the machine lacks it. */
  readonly optional?: boolean;
}

export interface DaemonOptions {
  readonly listen: readonly ListenSpec[];
  readonly upstreams: readonly UpstreamSpec[];
  /** Clear-text servers for the Opportunistic profile, used when nothing else answers. */
  readonly fallback?: readonly UpstreamSpec[] | undefined;
  readonly caFile?: string | undefined;
  readonly selection: SelectionStrategy;
  readonly timeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly paddingBlockSize: number;
  readonly maxOutstanding: number;
  readonly maxConnectionsPerUpstream: number;
  readonly maxInFlightPerConnection: number;
  readonly tcp?: TcpLimits;
  /** DNS-over-TLS listen addresses (--listen-tls); none by default. */
  readonly listenTls?: readonly ListenSpec[] | undefined;
  /** The DoT listener's settings; needed when listenTls is not empty. */
  readonly tls?: TlsSettings | undefined;
  /** Wall-clock ms for ticket key epochs and certificate dates. @default Date.now */
  readonly wallNow?: () => number;
  readonly backoff?: BackoffPolicy;
  readonly logger: Logger;
  readonly clock?: Clock;
  /**
   * The control socket `dotstub status` and friends talk to. `required: false` (the default path) only
   * warns when another daemon already holds it; an explicit path that cannot be opened stops the start.
   */
  readonly control?: { readonly path: string; readonly required: boolean } | undefined;
  /** The answer cache (`cache.*` keys); undefined or `enabled: false`: none. */
  readonly cache?: CacheConfig | undefined;
  /** Tests shorten the cache's fixed timers and thresholds. */
  readonly cacheTuning?: Partial<CacheTuning> | undefined;
  /** Sleep and network-change recovery, split DNS, portal mode. @default no watching, no split rules */
  readonly desktop?: DesktopOptions | undefined;
}

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
}

export interface Daemon {
  readonly addresses: readonly BoundAddress[];
  /** The DoT listeners' addresses (port 0 resolved). */
  readonly tlsAddresses: readonly BoundAddress[];
  readonly resolver: Resolver;
  readonly upstreams: readonly TlsUpstream[];
  readonly counters: ServerCounters;
  /**
   * The answer cache, undefined when disabled. flush(name?) for network changes; upstreamsChanged(profiles)
   * for the reload code when the upstream configuration changes; stats() for status.
   */
  readonly cache: ResponseCache | undefined;
  /** Where features add their control methods (status, reload, cache flush...); undefined without a socket. */
  readonly control: ControlServer | undefined;
  /**
   * Parts other features add to the `status` answer, by name: `statusSections.set('cache', () => ({...}))`
   * appears as `sections.cache` (see status-snapshot.ts).
   */
  readonly statusSections: Map<string, StatusSection>;
  /** The DoT listener's counters (also the control method `listener.status`). */
  listenerStatus(): ListenerStatus;
  readonly desktop: DesktopLife;
  /** 'network-change' (NetworkChangeEvent): after a wake or network change; the cache flushes on it. */
  readonly events: EventEmitter;
  close(): Promise<void>;
  destroy(): void;
}

/** Reads --ca-file once at start; a missing or empty file is a configuration error naming the key. */
export function readCaFile(path: string | undefined, key = 'caFile'): string[] | undefined {
  if (path === undefined) return undefined;
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(key, `cannot read ${path}: ${describeCause(err)}`);
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----'))
    throw new ConfigError(key, `${path} holds no PEM certificate`);
  return [pem];
}

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const clock = options.clock ?? systemClock;
  const { logger } = options;
  const extraCa = readCaFile(options.caFile);
  const shared: SharedUpstreamOptions = {
    ...(extraCa === undefined ? {} : { extraCa }),
    connectTimeoutMs: options.connectTimeoutMs,
    idleTimeoutMs: options.idleTimeoutMs,
    stallTimeoutMs: options.timeoutMs,
    maxConnections: options.maxConnectionsPerUpstream,
    maxInFlightPerConnection: options.maxInFlightPerConnection,
    padBlock: options.paddingBlockSize,
    clock,
    logger,
  };
  const created = options.upstreams.map((spec) => createUpstream(spec, shared));
  const upstreams = created.map((c) => c.tls);
  // Configured fallback servers come last: the resolver ranks them below every DoT upstream.
  const fallback = (options.fallback ?? []).map((spec) => createClearUpstream(spec, shared, 'fallback'));
  const publicUpstreams = [...created.map((c) => c.upstream), ...fallback];
  const desktop = new DesktopLife(options.desktop ?? { watchNetwork: false }, shared, publicUpstreams);
  const resolver = new Resolver({
    upstreams: publicUpstreams,
    router: desktop,
    strategy: options.selection,
    timeoutMs: options.timeoutMs,
    maxOutstanding: options.maxOutstanding,
    ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    clock,
    logger,
  });
  desktop.attach(resolver);
  const cache =
    options.cache?.enabled === true
      ? new ResponseCache({
          config: options.cache,
          ...(options.cacheTuning === undefined ? {} : { tuning: options.cacheTuning }),
          profiles: options.upstreams.map((u) => u.profile ?? 'strict'),
          resolver,
          clock,
          logger,
        })
      : undefined;
  const counters = newServerCounters();
  const ctx: QueryContext = { resolver, cache, counters, logger };
  const udp: UdpListener[] = [];
  const tcp: TcpListener[] = [];
  const addresses: BoundAddress[] = [];
  let control: ControlServer | undefined;
  let tls: TlsService | undefined;
  try {
    for (const spec of options.listen) {
      const bound = await bindPair(spec, ctx, options.tcp ?? DEFAULT_TCP_LIMITS, logger);
      if (bound === undefined) continue;
      udp.push(bound.udp);
      tcp.push(bound.tcp);
      addresses.push({ host: spec.host, port: bound.udp.port });
    }
    if (addresses.length === 0) throw new ListenError('no listen address could be bound');
    tls = await startTls(options, ctx, clock);
    control = await openControl(options);
    await desktop.start();
    if (control !== undefined) {
      registerCacheControl(control, cache);
      registerDesktopControl(control, desktop);
    }
  } catch (err) {
    await tls?.close();
    await Promise.all([...udp, ...tcp].map((l) => l.close()));
    await control?.close();
    desktop.destroy();
    resolver.destroy();
    throw err;
  }
  let closing: Promise<void> | undefined;
  const statusSections = new Map<string, StatusSection>();
  const listen = addresses.map((a) => `${a.host.includes(':') ? `[${a.host}]` : a.host}@${a.port}`);
  const statusSource = { resolver, counters, listen, strategy: options.selection, statusSections, clock };
  control?.handle('status', () => buildStatusSnapshot(statusSource));
  const listenerStatus = (): ListenerStatus => tls?.status() ?? NO_TLS_STATUS;
  control?.handle('listener.status', listenerStatus);
  if (tls !== undefined) statusSections.set('listener', listenerStatus);
  if (cache !== undefined) {
    statusSections.set('cache', () => cache.stats());
    // Answers may depend on the network (split horizons, captive portals): a new network starts afresh.
    desktop.events.on('network-change', () => cache.flush());
  }
  statusSections.set('network', () => desktop.status());
  return {
    addresses,
    tlsAddresses: tls?.listeners.map((l) => ({ host: l.host, port: l.port })) ?? [],
    resolver,
    upstreams,
    counters,
    cache,
    control,
    statusSections,
    listenerStatus,
    desktop,
    events: desktop.events,
    close: () =>
      (closing ??= (async () => {
        await control?.close();
        await Promise.all([...udp, ...tcp, ...(tls === undefined ? [] : [tls])].map((l) => l.close()));
        await desktop.close();
        await resolver.close();
      })()),
    destroy: () => {
      void control?.close();
      for (const l of tcp) l.destroy();
      tls?.destroy();
      void Promise.all(udp.map((l) => l.close()));
      desktop.destroy();
      resolver.destroy();
    },
  };
}

const NO_TLS_STATUS: ListenerStatus = {
  enabled: false,
  listeners: [],
  queries: 0,
  certificates: [],
  ticketKeyRotations: 0,
  ticketKeyShared: false,
};

async function startTls(
  options: DaemonOptions,
  ctx: QueryContext,
  clock: Clock,
): Promise<TlsService | undefined> {
  if (options.listenTls === undefined || options.listenTls.length === 0) return undefined;
  if (options.tls === undefined)
    throw new ConfigError('tls', 'listenTls is set but no TLS settings were given');
  return startTlsService(options.listenTls, options.tls, ctx, {
    clock,
    wallNow: options.wallNow,
    tcp: options.tcp,
  });
}

async function openControl(options: DaemonOptions): Promise<ControlServer | undefined> {
  if (options.control === undefined) return undefined;
  try {
    return await ControlServer.listen(options.control.path, options.logger);
  } catch (err) {
    if (options.control.required) throw err;
    options.logger.warn('no control socket: dotstub status cannot reach this daemon', {
      cause: describeCause(err),
    });
    return undefined;
  }
}

/** UDP and TCP on one address and port; with port 0, TCP takes the port UDP was given (retried if TCP finds it taken). */
async function bindPair(
  spec: ListenSpec,
  ctx: QueryContext,
  limits: TcpLimits,
  logger: Logger,
): Promise<{ udp: UdpListener; tcp: TcpListener } | undefined> {
  for (let attempt = 0; ; attempt++) {
    const udp = await bindUdp(spec, ctx, logger);
    if (udp === undefined) return undefined;
    try {
      return { udp, tcp: await TcpListener.bind(spec.host, udp.port, ctx, limits) };
    } catch (err) {
      await udp.close();
      const taken = ((err as ListenError).cause as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
      if (spec.port !== 0 || !taken || attempt >= 20) throw err;
    }
  }
}

async function bindUdp(
  spec: ListenSpec,
  ctx: QueryContext,
  logger: Logger,
): Promise<UdpListener | undefined> {
  try {
    return await UdpListener.bind(spec.host, spec.port, ctx);
  } catch (err) {
    const code = ((err as ListenError).cause as NodeJS.ErrnoException | undefined)?.code;
    if (spec.optional === true && code === 'EADDRNOTAVAIL') {
      logger.warn('skipping a default listen address this machine does not have', { address: spec.host });
      return undefined;
    }
    throw err;
  }
}
