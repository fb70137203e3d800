/**
 * IP literal tests that stay off Node's IPv6 regular expression. net.isIPv6 (and net.isIP, for anything
 * that is not a dotted quad) runs a large regexp that V8 interprets on its first use: 8 ms on Node 20
 * here, then 2 ms more on the next call to compile it, both on the way to the daemon's first answer.
 */
import { isIPv4 } from 'node:net';

/** For an address already known to be an IP literal (a parsed config address): IPv6 has colons, IPv4 none. */
export const isV6Address = (address: string): boolean => address.includes(':');

/**
 * Whether a name is an IP literal rather than a host name. A host name never holds a colon, so a colon
 * means IPv6 (or garbage, which is no host name either); otherwise only a dotted quad is an IP.
 */
export const isIpLiteral = (name: string): boolean => name.includes(':') || isIPv4(name);

/** An address as it goes before a `:port` or `@port` (RFC 3986 sec. 3.2.2): IPv6 in brackets. */
export const bracketed = (address: string): string => (isV6Address(address) ? `[${address}]` : address);
