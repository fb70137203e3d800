/**
 * Builds the daemon's settings from the embedded defaults, an optional JSON file (--config) and the
 * command line, in that order of precedence, and refuses what cannot work: every error names the field.
 */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { SELECTION_STRATEGIES } from '../resolver/selection.js';
import type { DaemonOptions, ListenSpec } from '../server/daemon.js';
import { parsePin } from '../upstream/spki-pin.js';
import { PROFILE_RULES, USAGE_PROFILES, type UsageProfile } from '../upstream/usage-profile.js';
import type { UpstreamSpec } from '../upstream/upstream.js';
import { LOG_LEVELS, type LogLevel } from '../util/logger.js';
import { parseListenAddress, parseUpstreamAddress } from './addresses.js';
import { cacheConfig } from './cache-config.js';
import { DEFAULT_LISTEN, DEFAULT_UPSTREAMS, DEFAULTS } from './defaults.js';
import { listenTlsSpecs, tlsSettings } from './tls-config.js';
import { desktopConfig } from './desktop-config.js';

export interface RunFlags {
  readonly config?: string | undefined;
  readonly listen?: readonly string[] | undefined;
  /** DNS-over-TLS listen addresses, ADDR[@PORT] (port 853). */
  readonly listenTls?: readonly string[] | undefined;
  readonly upstream?: readonly string[] | undefined;
  readonly pin?: readonly string[] | undefined;
  readonly caFile?: string | undefined;
  readonly logLevel?: string | undefined;
  /** -m (Strict) or -n (Opportunistic), as in getdns_query. */
  readonly profile?: UsageProfile | undefined;
}

/** The daemon's options as the configuration sets them (the logger and clock come from the CLI). */
export type DaemonConfig = Omit<DaemonOptions, 'logger' | 'clock' | 'tcp' | 'backoff' | 'cacheTuning'> & {
  readonly logLevel: LogLevel;
  /** Things worth saying at start that do not stop it (a single pin without backup, say). */
  readonly warnings: readonly string[];
};

type Json = Record<string, unknown>;

function readJsonFile(path: string): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError('', `cannot read config file ${path}: ${(err as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('', `config file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError('', `config file ${path} must hold a JSON object`);
  return value as Json;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(path, `${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
}

function integer(value: unknown, path: string, min: number, max: number): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  throw new ConfigError(path, `${JSON.stringify(value)} is not a whole number from ${min} to ${max}`);
}

function optionalInteger(file: Json, key: string, fallback: number, min: number, max: number): number {
  return file[key] === undefined ? fallback : integer(file[key], key, min, max);
}

function stringList(value: unknown, path: string): string[] {
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string'))
    throw new ConfigError(path, 'expected a list of strings');
  return value as string[];
}

export function upstreamFromJson(value: unknown, path: string): UpstreamSpec {
  if (typeof value === 'string') return { ...parseUpstreamAddress(value, path), pins: [] };
  if (typeof value !== 'object' || value === null)
    throw new ConfigError(path, 'expected "IP#PORT~NAME" or {"address", "port", "authName", "pins"}');
  const o = value as Json;
  if (typeof o.address !== 'string')
    throw new ConfigError(`${path}.address`, 'missing: the upstream IP address');
  const base = parseUpstreamAddress(o.address, `${path}.address`);
  const port = o.port === undefined ? base.port : integer(o.port, `${path}.port`, 1, 65535);
  const pins =
    o.pins === undefined
      ? []
      : stringList(o.pins, `${path}.pins`).map((p, i) => parsePin(p, `${path}.pins[${i}]`));
  if (o.authName !== undefined && typeof o.authName !== 'string')
    throw new ConfigError(`${path}.authName`, 'expected a host name');
  const authName = typeof o.authName === 'string' ? o.authName.trim() : base.authName;
  const profile = o.profile === undefined ? undefined : oneOf(o.profile, USAGE_PROFILES, `${path}.profile`);
  const clearPort =
    o.clearPort === undefined ? base.clearPort : integer(o.clearPort, `${path}.clearPort`, 1, 65535);
  return {
    address: base.address,
    port,
    pins,
    ...(authName === undefined ? {} : { authName }),
    ...(profile === undefined ? {} : { profile }),
    ...(clearPort === undefined ? {} : { clearPort }),
  };
}

/** `fallback`: clear-text servers (`IP`, `IP@PORT`, `[V6]:PORT`; port 53) for the Opportunistic profile only. */
function fallbackSpecs(file: Json, upstreams: readonly UpstreamSpec[]): UpstreamSpec[] {
  if (file.fallback === undefined) return [];
  const specs = stringList(file.fallback, 'fallback').map((f, i) => {
    const { host, port } = parseListenAddress(f, `fallback[${i}]`, 53);
    return { address: host, port, pins: [] };
  });
  if (
    specs.length > 0 &&
    !upstreams.some((u) => PROFILE_RULES[u.profile ?? 'strict'].onTlsFailure === 'clear-text')
  ) {
    throw new ConfigError(
      'fallback',
      'clear-text fallback servers are only used in the Opportunistic profile (RFC 8310 sec. 5); set "profile": "opportunistic" or remove them',
    );
  }
  return specs;
}

const sameAddress = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** RFC 8310 sec. 6.6 and the loop check: refuse what could only fail or forward to itself. */
function checkUpstreams(
  upstreams: readonly UpstreamSpec[],
  listen: readonly ListenSpec[],
  warnings: string[],
): void {
  if (upstreams.length === 0)
    throw new ConfigError(
      'upstreams',
      'no upstream configured (give --upstream IP#PORT~NAME, or drop the empty list to use the defaults)',
    );
  upstreams.forEach((u, i) => {
    const path = `upstreams[${i}]`;
    if (
      u.authName === undefined &&
      u.pins.length === 0 &&
      PROFILE_RULES[u.profile ?? 'strict'].needsCredentials
    ) {
      throw new ConfigError(
        path,
        `${u.address} has neither an authentication name nor a pin, so the Strict profile cannot authenticate it: add ~NAME (for example ${u.address}#${u.port}~dns.example.net) or -K 'pin-sha256="..."' (the README shows how to read a server's pin), or choose the Opportunistic profile (-n) if unauthenticated encryption is acceptable`,
      );
    }
    if (listen.some((l) => sameAddress(l.host, u.address) && l.port === u.port)) {
      throw new ConfigError(
        path,
        `${u.address} port ${u.port} is one of dotstub's own listen addresses: forwarding to it would loop`,
      );
    }
    if (u.pins.length === 1 && (u.profile ?? 'strict') === 'strict')
      warnings.push(
        `${path}: only one pin for ${u.address}; add a backup pin (RFC 7858 sec. 4.2) so a key rollover does not cut you off`,
      );
  });
}

function listenSpecs(flags: RunFlags, file: Json): ListenSpec[] {
  if (flags.listen !== undefined && flags.listen.length > 0)
    return flags.listen.map((l, i) => parseListenAddress(l, `--listen[${i}]`));
  if (file.listen !== undefined)
    return stringList(file.listen, 'listen').map((l, i) => parseListenAddress(l, `listen[${i}]`));
  return DEFAULT_LISTEN.map((l) => ({ ...l, optional: l.host === '::1' }));
}

function upstreamSpecs(flags: RunFlags, file: Json): UpstreamSpec[] {
  const cliPins = (flags.pin ?? []).map((p, i) => parsePin(p, `--pin[${i}]`));
  if (flags.upstream !== undefined && flags.upstream.length > 0) {
    // As in getdns_query, -K pins apply to every upstream given on the command line.
    return flags.upstream.map((u, i) => ({ ...parseUpstreamAddress(u, `--upstream[${i}]`), pins: cliPins }));
  }
  if (cliPins.length > 0)
    throw new ConfigError(
      '--pin',
      'pins given with -K apply to the upstreams given with --upstream; give at least one',
    );
  if (file.upstreams === undefined) return [...DEFAULT_UPSTREAMS];
  if (!Array.isArray(file.upstreams)) throw new ConfigError('upstreams', 'expected a list of upstreams');
  return file.upstreams.map((u, i) => upstreamFromJson(u, `upstreams[${i}]`));
}

export function buildDaemonConfig(flags: RunFlags): DaemonConfig {
  const file = flags.config === undefined ? {} : readJsonFile(flags.config);
  const warnings: string[] = [];
  const listen = listenSpecs(flags, file);
  const profile =
    flags.profile ?? (file.profile === undefined ? 'strict' : oneOf(file.profile, USAGE_PROFILES, 'profile'));
  // The global profile (or -m / -n) applies to every upstream that does not set its own.
  const upstreams = upstreamSpecs(flags, file).map((u) =>
    flags.profile !== undefined || u.profile === undefined ? { ...u, profile } : u,
  );
  const listenTls = listenTlsSpecs(flags.listenTls, file);
  checkUpstreams(upstreams, [...listen, ...listenTls], warnings);
  const fallback = fallbackSpecs(file, upstreams);
  const caFile = flags.caFile ?? (typeof file.caFile === 'string' ? file.caFile : undefined);
  const logLevelPath = flags.logLevel === undefined ? 'logLevel' : '--log-level';
  return {
    listen,
    upstreams,
    fallback,
    caFile,
    logLevel: oneOf(flags.logLevel ?? file.logLevel ?? DEFAULTS.logLevel, LOG_LEVELS, logLevelPath),
    selection: oneOf(file.selection ?? DEFAULTS.selection, SELECTION_STRATEGIES, 'selection'),
    timeoutMs: optionalInteger(file, 'timeout', DEFAULTS.timeoutMs, 100, 60_000),
    idleTimeoutMs: optionalInteger(file, 'idleTimeout', DEFAULTS.idleTimeoutMs, 0, 600_000),
    connectTimeoutMs: DEFAULTS.connectTimeoutMs,
    paddingBlockSize: optionalInteger(file, 'paddingBlockSize', DEFAULTS.paddingBlockSize, 0, 4096),
    maxOutstanding: optionalInteger(file, 'limitOutstandingQueries', DEFAULTS.maxOutstanding, 1, 1_000_000),
    maxConnectionsPerUpstream: DEFAULTS.maxConnectionsPerUpstream,
    maxInFlightPerConnection: DEFAULTS.maxInFlightPerConnection,
    listenTls,
    tls: tlsSettings(file, listenTls),
    cache: cacheConfig(file),
    // domains, followSystemDomains, watchNetwork, portal (src/config/desktop-config.ts)
    desktop: desktopConfig(file, upstreamFromJson),
    warnings,
  };
}
