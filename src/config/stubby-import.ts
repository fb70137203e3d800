/**
 * stubby.yml -> dotstub configuration. Every stubby option with a meaning here is mapped; every other one
 * is listed with the reason it is not taken, so nothing is dropped silently.
 */
import { ConfigError } from '../errors.js';
import { show } from './schema-fields.js';
import { mapUpstream, type StubbyContext } from './stubby-upstream.js';
import { parseStubbyYaml } from './stubby-yaml.js';

export interface StubbyImport {
  /** The dotstub configuration (file form), holding only what stubby.yml set. */
  readonly config: Record<string, unknown>;
  /** Options not taken, each with why, and choices the import made. */
  readonly notes: readonly string[];
}

const DNSSEC =
  'dotstub does not validate DNSSEC itself: the upstream validates, and the AD and CD bits pass through for a validating client';

/** stubby options with no equivalent, and why. */
export const NOT_TAKEN: Readonly<Record<string, string>> = {
  resolution_type: 'dotstub is always a stub resolver (GETDNS_RESOLUTION_STUB)',
  appdata_dir: 'dotstub keeps its own state in its data directory (no DNSSEC trust anchors to store)',
  dnssec: DNSSEC,
  dnssec_return_status: DNSSEC,
  dnssec_trust_anchors: DNSSEC,
  trust_anchors_backoff_time: DNSSEC,
  trust_anchors_url: DNSSEC,
  trust_anchors_verify_CA: DNSSEC,
  trust_anchors_verify_email: DNSSEC,
  tls_cipher_list: "TLS 1.2 cipher suites are Node's (OpenSSL's) secure defaults",
  tls_ciphersuites: "TLS 1.3 cipher suites are Node's (OpenSSL's) defaults",
  tls_max_version: 'the highest version both ends support is used',
  tls_ca_path: 'give extra CA certificates as one PEM file (tls_ca_file, caFile here)',
};

type Options = Record<string, unknown>;

function number(options: Options, key: string): number | undefined {
  const value = options[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0)
    throw new ConfigError(key, `${show(value)} is not a whole number (in stubby.yml)`);
  return value;
}

function flag(options: Options, key: string): boolean | undefined {
  const value = number(options, key);
  return value === undefined ? undefined : value !== 0;
}

const TRANSPORTS = ['GETDNS_TRANSPORT_TLS', 'GETDNS_TRANSPORT_UDP', 'GETDNS_TRANSPORT_TCP'];

/** tls_authentication and dns_transport_list decide the RFC 8310 profile. */
function profile(options: Options, notes: string[]): 'strict' | 'opportunistic' | undefined {
  const auth = options.tls_authentication;
  if (
    auth !== undefined &&
    auth !== 'GETDNS_AUTHENTICATION_REQUIRED' &&
    auth !== 'GETDNS_AUTHENTICATION_NONE'
  )
    throw new ConfigError(
      'tls_authentication',
      `${show(auth)} is not GETDNS_AUTHENTICATION_REQUIRED or GETDNS_AUTHENTICATION_NONE`,
    );
  const list = options.dns_transport_list ?? ['GETDNS_TRANSPORT_TLS'];
  if (!Array.isArray(list) || list.some((t) => typeof t !== 'string' || !TRANSPORTS.includes(t)))
    throw new ConfigError('dns_transport_list', `${show(list)} is not a list of ${TRANSPORTS.join(', ')}`);
  if (!list.includes('GETDNS_TRANSPORT_TLS'))
    throw new ConfigError(
      'dns_transport_list',
      'without GETDNS_TRANSPORT_TLS there is nothing for a DNS-over-TLS stub to do',
    );
  const clear = list.some((t) => t !== 'GETDNS_TRANSPORT_TLS');
  if (clear) {
    notes.push(
      'dns_transport_list: clear-text transports are listed, so the profile is Opportunistic: clear DNS to port 53 only when TLS cannot be set up (RFC 8310 sec. 5); list only GETDNS_TRANSPORT_TLS for Strict',
    );
    return 'opportunistic';
  }
  if (auth === undefined) return undefined;
  return auth === 'GETDNS_AUTHENTICATION_REQUIRED' ? 'strict' : 'opportunistic';
}

function scalars(options: Options, config: Options, notes: string[]): void {
  const copy = (from: string, to: string, value: unknown): void => {
    if (value !== undefined) config[to] = value;
  };
  copy('idle_timeout', 'idleTimeout', number(options, 'idle_timeout'));
  copy('timeout', 'timeout', number(options, 'timeout'));
  const padding = number(options, 'tls_query_padding_blocksize');
  // getdns: 1 means "a sensible block size", which RFC 8467 sec. 4.1 says is 128 for queries.
  copy('tls_query_padding_blocksize', 'paddingBlockSize', padding === 1 ? 128 : padding);
  copy('edns_client_subnet_private', 'ecsPrivate', flag(options, 'edns_client_subnet_private'));
  const rr = flag(options, 'round_robin_upstreams');
  copy('round_robin_upstreams', 'selection', rr === undefined ? undefined : rr ? 'round-robin' : 'ordered');
  const limit = number(options, 'limit_outstanding_queries');
  if (limit === 0)
    notes.push(
      'limit_outstanding_queries: 0 (no limit) is not taken: dotstub keeps its bound (limitOutstandingQueries, 4096)',
    );
  else copy('limit_outstanding_queries', 'limitOutstandingQueries', limit);
  copy('tls_connection_retries', 'connectionRetries', number(options, 'tls_connection_retries'));
  const backoff = number(options, 'tls_backoff_time');
  if (backoff !== undefined) config.backoff = { max: backoff * 1000 };
  const version = options.tls_min_version;
  if (version !== undefined) {
    const map: Record<string, string> = { GETDNS_TLS1_2: 'TLS1.2', GETDNS_TLS1_3: 'TLS1.3' };
    const mapped = typeof version === 'string' ? map[version] : undefined;
    if (mapped === undefined)
      throw new ConfigError(
        'tls_min_version',
        `${show(version)} is not GETDNS_TLS1_2 or GETDNS_TLS1_3 (RFC 8310 needs TLS 1.2 at least)`,
      );
    config.tlsMinVersion = mapped;
  }
  if (options.tls_ca_file !== undefined) config.caFile = options.tls_ca_file;
}

const MAPPED = new Set([
  'listen_addresses',
  'upstream_recursive_servers',
  'tls_authentication',
  'dns_transport_list',
  'round_robin_upstreams',
  'idle_timeout',
  'timeout',
  'tls_query_padding_blocksize',
  'edns_client_subnet_private',
  'limit_outstanding_queries',
  'tls_connection_retries',
  'tls_backoff_time',
  'tls_min_version',
  'tls_ca_file',
]);

export function importStubby(text: string, path: string): StubbyImport {
  const options = parseStubbyYaml(text, path);
  const notes: string[] = [];
  const config: Options = {};
  if (options.listen_addresses !== undefined) config.listen = options.listen_addresses;
  const chosen = profile(options, notes);
  if (chosen !== undefined) config.profile = chosen;
  scalars(options, config, notes);
  const servers = options.upstream_recursive_servers;
  if (servers !== undefined) {
    if (!Array.isArray(servers))
      throw new ConfigError('upstream_recursive_servers', `${show(servers)} is not a list of servers`);
    const ctx: StubbyContext = { notes };
    config.upstreams = servers.map((s: unknown, i) =>
      mapUpstream(s, `upstream_recursive_servers[${i}]`, ctx),
    );
  }
  for (const key of Object.keys(options)) {
    if (MAPPED.has(key)) continue;
    notes.push(`${key}: not taken: ${NOT_TAKEN[key] ?? 'not a stubby option dotstub knows'}`);
  }
  return { config, notes };
}
