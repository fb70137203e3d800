/**
 * The DoT listener's settings: `--listen-tls ADDR[@PORT]` (port 853) or the config's `listenTls`, and the
 * `tls` object. Off unless a listen address is given. Every error names the key path.
 */
import { ConfigError } from '../errors.js';
import { parseAllowList } from '../server/allow-list.js';
import type { ListenSpec } from '../server/daemon.js';
import { DEFAULT_TLS_SETTINGS, type TlsSettings } from '../server/tls-settings.js';
import { parseListenAddress } from './addresses.js';
import { certDirOf } from './tls-cert-dir.js';
import { rejectUnknownKeys } from './known-keys.js';

type Json = Record<string, unknown>;

export const DOT_PORT = 853;

function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  throw new ConfigError(path, `${JSON.stringify(value)} is not a whole number from ${min} to ${max}`);
}

function strings(value: unknown, path: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw new ConfigError(path, 'expected a list of strings');
  return value as string[];
}

export function listenTlsSpecs(flag: readonly string[] | undefined, file: Json): ListenSpec[] {
  if (flag !== undefined && flag.length > 0)
    return flag.map((l, i) => parseListenAddress(l, `--listen-tls[${i}]`, DOT_PORT));
  if (file.listenTls === undefined) return [];
  return strings(file.listenTls, 'listenTls').map((l, i) =>
    parseListenAddress(l, `listenTls[${i}]`, DOT_PORT),
  );
}

/** Knot Resolver's net.tls_padding: true/"on" (468), false/"off" (0), or a block size. */
function padding(value: unknown): number {
  if (value === undefined) return DEFAULT_TLS_SETTINGS.padding;
  if (value === true || value === 'on') return DEFAULT_TLS_SETTINGS.padding;
  if (value === false || value === 'off') return 0;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 4096) return value;
  throw new ConfigError(
    'tls.padding',
    `${JSON.stringify(value)} is not "on", "off" or a block size from 0 to 4096 (RFC 8467 recommends 468)`,
  );
}

function certPairs(value: unknown): { cert: string; key: string }[] {
  if (value === undefined) return [];
  if (!Array.isArray(value))
    throw new ConfigError('tls.certs', 'expected a list of {"cert": FILE, "key": FILE}');
  return value.map((v: unknown, i) => {
    const o = (typeof v === 'object' && v !== null ? v : {}) as Json;
    if (typeof o.cert !== 'string' || typeof o.key !== 'string')
      throw new ConfigError(`tls.certs[${i}]`, 'expected {"cert": PEM_FILE, "key": PEM_FILE}');
    return { cert: o.cert, key: o.key };
  });
}

function optional(tls: Json, key: string, fallback: number, min: number, max: number): number {
  return tls[key] === undefined ? fallback : integer(tls[key], `tls.${key}`, min, max);
}

const TLS_KEYS = [
  'certs',
  'padding',
  'ticketSecretFile',
  'ticketRotationMs',
  'allow',
  'maxConnections',
  'maxConnectionsPerClient',
  'idleTimeout',
  'certDir',
];

/** The `tls` object, defaults filled in; undefined when no DoT listen address is configured. */
export function tlsSettings(file: Json, listenTls: readonly ListenSpec[]): TlsSettings | undefined {
  if (
    file.tls !== undefined &&
    (typeof file.tls !== 'object' || file.tls === null || Array.isArray(file.tls))
  )
    throw new ConfigError('tls', 'expected an object');
  const tls = (file.tls ?? {}) as Json;
  rejectUnknownKeys(tls, TLS_KEYS, 'tls');
  if (listenTls.length === 0) return undefined;
  const allow = tls.allow === undefined ? DEFAULT_TLS_SETTINGS.allow : strings(tls.allow, 'tls.allow');
  parseAllowList(allow); // refuse a bad network at load, naming tls.allow[i]
  if (tls.ticketSecretFile !== undefined && typeof tls.ticketSecretFile !== 'string')
    throw new ConfigError('tls.ticketSecretFile', 'expected a file path');
  const d = DEFAULT_TLS_SETTINGS;
  return {
    certs: certPairs(tls.certs),
    padding: padding(tls.padding),
    ticketSecretFile: tls.ticketSecretFile,
    ticketRotationMs: optional(tls, 'ticketRotationMs', d.ticketRotationMs, 60_000, 7 * 24 * 3600_000),
    allow,
    maxConnections: optional(tls, 'maxConnections', d.maxConnections, 1, 100_000),
    maxConnectionsPerClient: optional(tls, 'maxConnectionsPerClient', d.maxConnectionsPerClient, 1, 100_000),
    idleTimeoutMs: optional(tls, 'idleTimeout', d.idleTimeoutMs, 1000, 600_000),
    certDir: certDirOf(tls),
  };
}
