/**
 * The address forms users already know: stubby's listen `ADDR@PORT`, getdns_query's upstream
 * `IP[#TLSPORT][~AUTHNAME]`, and the usual `ADDR:PORT` / `[V6]:PORT`. Errors say what is accepted.
 */
import { isIP } from 'node:net';
import { ConfigError } from '../errors.js';
import { bracketed } from '../util/ip-literal.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface UpstreamAddress {
  readonly address: string;
  readonly port: number;
  readonly authName?: string;
  /** getdns_query's `@PORT`: the clear-text DNS port (Opportunistic fallback). */
  readonly clearPort?: number;
}

/** `min` is 1 for a server's port: 0 means "any port" only to a socket we bind (a listen address). */
function parsePort(text: string, path: string, input: string, min = 0): number {
  const port = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(port) || port < min || port > 65535) {
    throw new ConfigError(
      path,
      `bad port ${JSON.stringify(text)} in ${JSON.stringify(input)} (expected ${min}-65535)`,
    );
  }
  return port;
}

/** Splits `[V6]:PORT`, `V4:PORT`, `ADDR@PORT`, `ADDR#PORT` or a bare address (port undefined). */
function splitHostPort(
  input: string,
  separators: readonly string[],
  path: string,
): { host: string; port?: string } {
  const bracket = /^\[([^\]]+)\](?:[:@#](\d*))?$/.exec(input);
  if (bracket !== null)
    return bracket[2] === undefined
      ? { host: bracket[1] ?? '' }
      : { host: bracket[1] ?? '', port: bracket[2] };
  for (const sep of separators) {
    const at = input.lastIndexOf(sep);
    if (at < 0) continue;
    const host = input.slice(0, at);
    // A bare IPv6 address is full of colons: only split on ':' for IPv4.
    if (sep === ':' && isIP(host) !== 4) continue;
    return { host, port: input.slice(at + 1) };
  }
  if (input === '') throw new ConfigError(path, 'empty address');
  return { host: input };
}

function requireIp(host: string, path: string, input: string, example: string): string {
  if (isIP(host) === 0) {
    throw new ConfigError(
      path,
      `${JSON.stringify(input)} is not an IP address (expected, for example, ${example})`,
    );
  }
  return host;
}

/** stubby's listen form: `127.0.0.1@53`, `0::1@5353`, also `127.0.0.1:53` and `[::1]:53`. */
export function parseListenAddress(input: string, path = 'listen', defaultPort = 53): HostPort {
  const { host, port } = splitHostPort(input.trim(), ['@', ':'], path);
  return {
    host: requireIp(host, path, input, '127.0.0.1@53 or [::1]:53'),
    port: port === undefined ? defaultPort : parsePort(port, path, input),
  };
}

/** getdns_query's upstream form without the leading `@`: `9.9.9.9#853~dns.quad9.net`, `[2620:fe::fe]:853`. */
export function parseUpstreamAddress(input: string, path = 'upstream', defaultPort = 853): UpstreamAddress {
  const trimmed = input.trim().replace(/^@/, '');
  const tilde = trimmed.indexOf('~');
  const hostPart = tilde < 0 ? trimmed : trimmed.slice(0, tilde);
  const authName = tilde < 0 ? undefined : trimmed.slice(tilde + 1);
  if (
    authName !== undefined &&
    !/^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?\.?$/.test(
      authName,
    )
  ) {
    throw new ConfigError(
      path,
      `bad authentication name ${JSON.stringify(authName)} in ${JSON.stringify(input)} (expected a host name such as dns.quad9.net)`,
    );
  }
  // getdns_query: `IP@PORT#TLSPORT`, where @PORT is the clear DNS port ('@' never occurs in an IP).
  const clear = /@(\d{1,5})(?=#|$)/.exec(hostPart);
  const { host, port } = splitHostPort(
    clear === null ? hostPart : hostPart.replace(clear[0], ''),
    ['#', ':'],
    path,
  );
  const address = requireIp(host, path, input, '9.9.9.9#853~dns.quad9.net or [2620:fe::fe]:853');
  const parsedPort = port === undefined ? defaultPort : parsePort(port, path, input, 1);
  return {
    address,
    port: parsedPort,
    ...(authName === undefined ? {} : { authName: authName.replace(/\.$/, '') }),
    ...(clear === null ? {} : { clearPort: parsePort(clear[1] ?? '', path, input, 1) }),
  };
}

export function formatHostPort({ host, port }: HostPort): string {
  return `${bracketed(host)}:${port}`;
}
