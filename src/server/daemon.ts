/**
 * Wiring and lifecycle only: upstreams -> resolver -> listeners. close() stops accepting, answers what is
 * in flight and closes upstream connections; destroy() cuts everything now.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, describeCause, ListenError } from '../errors.js';
import { Resolver } from '../resolver/resolver.js';
import type { BackoffPolicy } from '../util/backoff.js';
import type { SelectionStrategy } from '../resolver/selection.js';
import type { TlsUpstream } from '../upstream/tls-upstream.js';
import type { UpstreamSpec } from '../upstream/upstream.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { ControlServer } from './control-server.js';
import {
  buildUpstreams,
  listenKey,
  reloadDaemon,
  resolverOptions,
  sharedUpstreamOptions,
  type DaemonState,
  type LiveListener,
  type ReloadOptions,
  type ReloadSummary,
} from './reload.js';
import { newServerCounters, type QueryContext, type ServerCounters } from './query-handler.js';
import { DEFAULT_TCP_LIMITS, TcpListener, type TcpLimits } from './tcp-listener.js';
import { UdpListener } from './udp-listener.js';

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
  readonly backoff?: BackoffPolicy | undefined;
  /** Lowest TLS version offered to upstreams. @default 'TLSv1.2' */
  readonly minTlsVersion?: 'TLSv1.2' | 'TLSv1.3' | undefined;
  /** RFC 7871 sec. 7.1.2: ECS with source prefix 0 upstream, none to clients. @default true */
  readonly ecsPrivate?: boolean | undefined;
  readonly logger: Logger;
  readonly clock?: Clock;
  /**
   * The control socket `dotstub status` and friends talk to. `required: false` (the default path) only
   * warns when another daemon already holds it; an explicit path that cannot be opened stops the start.
   */
  readonly control?: { readonly path: string; readonly required: boolean } | undefined;
}

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
}

export interface Daemon {
  readonly addresses: readonly BoundAddress[];
  readonly resolver: Resolver;
  readonly upstreams: readonly TlsUpstream[];
  readonly counters: ServerCounters;
  /** Where features add their control methods (status, reload, cache flush...); undefined without a socket. */
  readonly control: ControlServer | undefined;
  /** Applies new settings in place (src/server/reload.ts); on error nothing changes. */
  reload(options: ReloadOptions): Promise<ReloadSummary>;
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
  const shared = sharedUpstreamOptions(options, extraCa, clock, logger);
  const upstreams = buildUpstreams(options, shared, []);
  const resolver = new Resolver(resolverOptions(options, upstreams, clock, logger));
  const counters = newServerCounters();
  const ctx: QueryContext = { resolver, counters, logger };
  const bind = async (spec: ListenSpec): Promise<LiveListener | undefined> => {
    const bound = await bindPair(spec, ctx, options.tcp ?? DEFAULT_TCP_LIMITS, logger);
    if (bound === undefined) return undefined;
    return { key: listenKey(spec), ...bound, address: { host: spec.host, port: bound.udp.port } };
  };
  const state: DaemonState = { upstreams, listeners: [], resolver, clock, logger, bind, readCa: readCaFile };
  const all = (): (UdpListener | TcpListener)[] => state.listeners.flatMap((l) => [l.udp, l.tcp]);
  let control: ControlServer | undefined;
  try {
    for (const spec of options.listen) {
      const live = await bind(spec);
      if (live !== undefined) state.listeners.push(live);
    }
    if (state.listeners.length === 0) throw new ListenError('no listen address could be bound');
    control = await openControl(options);
  } catch (err) {
    await Promise.all(all().map((l) => l.close()));
    resolver.destroy();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    get addresses() {
      return state.listeners.map((l) => l.address);
    },
    resolver,
    get upstreams() {
      return state.upstreams.flatMap((l) => (l.tls === undefined ? [] : [l.tls]));
    },
    counters,
    control,
    reload: (next) => reloadDaemon(state, next),
    close: () =>
      (closing ??= (async () => {
        await control?.close();
        await Promise.all(all().map((l) => l.close()));
        await resolver.close();
      })()),
    destroy: () => {
      void control?.close();
      for (const l of state.listeners) l.tcp.destroy();
      void Promise.all(state.listeners.map((l) => l.udp.close()));
      resolver.destroy();
    },
  };
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
