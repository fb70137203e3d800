/** The pieces startDaemon assembles: CA file, listeners, the DoT service, the control socket, the cache. */
import { ResponseCache } from '../cache/response-cache.js';
import { ConfigError, describeCause, type ListenError } from '../errors.js';
import type { Resolver } from '../resolver/resolver.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { ControlServer } from './control-server.js';
import type { DaemonOptions, ListenSpec } from './daemon-types.js';
import type { QueryContext } from './query-handler.js';
import { TcpListener, type TcpLimits } from './tcp-listener.js';
import type { TlsService } from './tls-service.js';
import type { ListenerStatus } from './tls-status.js';
import { UdpListener } from './udp-listener.js';

/** The answer cache the options ask for, or undefined (cache.enabled false, or no cache options: tests). */
export function createCache(
  options: DaemonOptions,
  resolver: Resolver,
  clock: Clock,
  logger: Logger,
): ResponseCache | undefined {
  if (options.cache?.enabled !== true) return undefined;
  return new ResponseCache({
    config: options.cache,
    ...(options.cacheTuning === undefined ? {} : { tuning: options.cacheTuning }),
    profiles: options.upstreams.map((u) => u.profile ?? 'strict'),
    resolver,
    clock,
    logger,
  });
}

export const NO_TLS_STATUS: ListenerStatus = {
  enabled: false,
  listeners: [],
  queries: 0,
  certificates: [],
  ticketKeyRotations: 0,
  ticketKeyShared: false,
};

export async function startTls(
  options: DaemonOptions,
  ctx: QueryContext,
  clock: Clock,
): Promise<TlsService | undefined> {
  if (options.listenTls === undefined || options.listenTls.length === 0) return undefined;
  if (options.tls === undefined)
    throw new ConfigError('tls', 'listenTls is set but no TLS settings were given');
  // Loaded only when a DoT listener is configured: most daemons never serve DoT.
  const { startTlsService } = await import('./tls-service.js');
  return startTlsService(options.listenTls, options.tls, ctx, {
    clock,
    wallNow: options.wallNow,
    tcp: options.tcp,
  });
}

export async function openControl(options: DaemonOptions): Promise<ControlServer | undefined> {
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
export async function bindPair(
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
