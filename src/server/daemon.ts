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
import {
  createClearUpstream,
  createUpstream,
  type SharedUpstreamOptions,
} from '../upstream/create-upstream.js';
import type { UpstreamSpec } from '../upstream/upstream.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { ControlServer } from './control-server.js';
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
  readonly backoff?: BackoffPolicy;
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
  const resolver = new Resolver({
    upstreams: [...created.map((c) => c.upstream), ...fallback],
    strategy: options.selection,
    timeoutMs: options.timeoutMs,
    maxOutstanding: options.maxOutstanding,
    ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    clock,
    logger,
  });
  const counters = newServerCounters();
  const ctx: QueryContext = { resolver, counters, logger };
  const udp: UdpListener[] = [];
  const tcp: TcpListener[] = [];
  const addresses: BoundAddress[] = [];
  let control: ControlServer | undefined;
  try {
    for (const spec of options.listen) {
      const bound = await bindPair(spec, ctx, options.tcp ?? DEFAULT_TCP_LIMITS, logger);
      if (bound === undefined) continue;
      udp.push(bound.udp);
      tcp.push(bound.tcp);
      addresses.push({ host: spec.host, port: bound.udp.port });
    }
    if (addresses.length === 0) throw new ListenError('no listen address could be bound');
    control = await openControl(options);
  } catch (err) {
    await Promise.all([...udp, ...tcp].map((l) => l.close()));
    resolver.destroy();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    addresses,
    resolver,
    upstreams,
    counters,
    control,
    close: () =>
      (closing ??= (async () => {
        await control?.close();
        await Promise.all([...udp, ...tcp].map((l) => l.close()));
        await resolver.close();
      })()),
    destroy: () => {
      void control?.close();
      for (const l of tcp) l.destroy();
      void Promise.all(udp.map((l) => l.close()));
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
