/**
 * Who may connect to the DoT listener: a list of networks in CIDR form, loopback only by default. Checked
 * when the TCP connection arrives, before any TLS byte is read, so a refused client costs no handshake.
 */
import { BlockList, isIP } from 'node:net';
import { ConfigError } from '../errors.js';

export const DEFAULT_ALLOW: readonly string[] = ['127.0.0.0/8', '::1/128'];

export interface AllowList {
  allows(address: string | undefined): boolean;
}

/** Parses `ADDR/PREFIX` or a bare address (a single host); errors name `path[i]` and the accepted form. */
export function parseAllowList(cidrs: readonly string[], path = 'tls.allow'): AllowList {
  const list = new BlockList();
  cidrs.forEach((text, i) => {
    const [address = '', prefixText, ...rest] = text.trim().split('/');
    const family = isIP(address);
    const max = family === 6 ? 128 : 32;
    const prefix = prefixText === undefined ? max : /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN;
    if (family === 0 || rest.length > 0 || !(prefix >= 0 && prefix <= max))
      throw new ConfigError(
        `${path}[${i}]`,
        `${JSON.stringify(text)} is not a network (expected ADDR/PREFIX such as 192.168.1.0/24 or fd00::/8, or a single address)`,
      );
    list.addSubnet(address, prefix, family === 6 ? 'ipv6' : 'ipv4');
  });
  return {
    allows: (address) => {
      if (address === undefined) return false;
      // A dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d; check them as the IPv4 address they are.
      const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
      const plain = mapped ?? address;
      const family = isIP(plain);
      return family !== 0 && list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}
