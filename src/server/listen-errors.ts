/** Turns a failed bind into a message that says how to fix it (a missing privilege says how to grant it). */
import { ListenError } from '../errors.js';

export function listenError(
  err: NodeJS.ErrnoException,
  proto: 'udp' | 'tcp' | 'tls',
  host: string,
  port: number,
): ListenError {
  const where = `${proto} ${host.includes(':') ? `[${host}]` : host}:${port}`;
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
