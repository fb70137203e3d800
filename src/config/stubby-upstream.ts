/** One entry of stubby's upstream_recursive_servers as a dotstub upstream object. */
import { ConfigError } from '../errors.js';
import { show } from './schema-fields.js';

export interface StubbyContext {
  readonly notes: string[];
}

const PER_UPSTREAM_NOT_TAKEN: Readonly<Record<string, string>> = {
  tls_cipher_list: "TLS 1.2 cipher suites are Node's (OpenSSL's) secure defaults",
  tls_ciphersuites: "TLS 1.3 cipher suites are Node's (OpenSSL's) defaults",
  tls_min_version: 'one minimum TLS version applies to every upstream (tlsMinVersion)',
  tls_max_version: 'the highest version both ends support is used',
  tsig_algorithm: 'TSIG is for zone transfers and updates, not stub queries',
  tsig_name: 'TSIG is for zone transfers and updates, not stub queries',
  tsig_secret: 'TSIG is for zone transfers and updates, not stub queries',
};

const KNOWN = new Set(['address_data', 'tls_port', 'port', 'tls_auth_name', 'tls_pubkey_pinset']);

function pins(value: unknown, path: string): string[] {
  if (!Array.isArray(value)) throw new ConfigError(path, `${show(value)} is not a list of {digest, value}`);
  return value.map((entry: unknown, i) => {
    const p = `${path}[${i}]`;
    const { digest, value: pin } = (entry ?? {}) as { digest?: unknown; value?: unknown };
    if (digest !== 'sha256')
      throw new ConfigError(`${p}.digest`, `${show(digest)} is not supported (only sha256, RFC 7469)`);
    if (typeof pin !== 'string') throw new ConfigError(`${p}.value`, `${show(pin)} is not a base64 pin`);
    return pin.trim();
  });
}

function port(value: unknown, path: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65535)
    throw new ConfigError(path, `${show(value)} is not a port (1-65535)`);
  return value;
}

export function mapUpstream(server: unknown, path: string, ctx: StubbyContext): Record<string, unknown> {
  if (typeof server !== 'object' || server === null || Array.isArray(server))
    throw new ConfigError(path, `${show(server)} is not a server (expected a mapping with address_data)`);
  const s = server as Record<string, unknown>;
  if (typeof s.address_data !== 'string')
    throw new ConfigError(`${path}.address_data`, `${show(s.address_data)} is not an IP address`);
  const out: Record<string, unknown> = { address: s.address_data.trim() };
  const tlsPort = port(s.tls_port, `${path}.tls_port`);
  if (tlsPort !== undefined) out.port = tlsPort;
  // stubby's `port` is the clear-text DNS port, used here by the Opportunistic fallback only.
  const clearPort = port(s.port, `${path}.port`);
  if (clearPort !== undefined) out.clearPort = clearPort;
  if (s.tls_auth_name !== undefined) {
    if (typeof s.tls_auth_name !== 'string')
      throw new ConfigError(`${path}.tls_auth_name`, `${show(s.tls_auth_name)} is not a host name`);
    // stubby's own example once carried "dns.cmrg.net " with a trailing space.
    const name = s.tls_auth_name.trim();
    if (name !== '') out.authName = name;
  }
  if (s.tls_pubkey_pinset !== undefined) out.pins = pins(s.tls_pubkey_pinset, `${path}.tls_pubkey_pinset`);
  for (const key of Object.keys(s)) {
    if (KNOWN.has(key)) continue;
    ctx.notes.push(
      `${path}.${key}: not taken: ${PER_UPSTREAM_NOT_TAKEN[key] ?? 'not a stubby option dotstub knows'}`,
    );
  }
  return out;
}
