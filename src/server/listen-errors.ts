/** Turns a failed bind into a message that says how to fix it (a missing privilege says how to grant it). */
import type { Server } from 'node:net';
import { describeCause, ListenError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { bracketed, isV6Address } from '../util/ip-literal.js';

/**
 * Binds a stream server (TCP, or the TCP under the DoT listener): a bind error is a ListenError that says
 * how to fix it; later server errors are logged, rate-limited, and never stop the daemon.
 */
export async function listenStream(
  server: Server,
  proto: 'tcp' | 'tls',
  host: string,
  port: number,
  logger: Logger,
): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(listenError(err, proto, host, port));
    });
    server.listen({ host, port, exclusive: true, ipv6Only: isV6Address(host) }, () => {
      resolve();
    });
  });
  server.removeAllListeners('error');
  server.on('error', (err) => {
    logger.rateLimited('warn', `${proto}-error`, 10_000, `${proto.toUpperCase()} listener error`, {
      cause: describeCause(err),
    });
  });
}

export function listenError(
  err: NodeJS.ErrnoException,
  proto: 'udp' | 'tcp' | 'tls',
  host: string,
  port: number,
): ListenError {
  const where = `${proto} ${bracketed(host)}:${port}`;
  switch (err.code) {
    case 'EACCES':
      return new ListenError(
        `cannot listen on ${where}: ports below 1024 need privilege. Grant it with ` +
          '`sudo setcap cap_net_bind_service=+ep "$(readlink -f "$(command -v node)")"`, ' +
          'run dotstub as the system service (`dotstub service install`, which grants CAP_NET_BIND_SERVICE), ' +
          'or listen on another port: --listen 127.0.0.1@5353',
        err,
      );
    case 'EADDRINUSE':
      return new ListenError(
        `cannot listen on ${where}: another program holds it (often systemd-resolved, dnsmasq or another stub; ` +
          `see \`sudo ss -lpn 'sport = :${port}'\`). Stop it, or listen elsewhere with --listen`,
        err,
      );
    case 'EADDRNOTAVAIL':
      return new ListenError(`cannot listen on ${where}: this machine has no such address`, err);
    default:
      return new ListenError(`cannot listen on ${where}: ${err.message}`, err);
  }
}
