/**
 * Builds the daemon's settings from the embedded defaults, the configuration file (validated by the
 * schema, src/config/schema.ts) and the command line, in that order of precedence, and refuses what
 * cannot work (RFC 8310 sec. 6.6, loops): every error names the field.
 */
import { ConfigError } from '../errors.js';
import type { DaemonOptions, ListenSpec } from '../server/daemon.js';
import { parsePin } from '../upstream/spki-pin.js';
import { PROFILE_RULES, type UsageProfile } from '../upstream/usage-profile.js';
import type { UpstreamSpec } from '../upstream/upstream.js';
import { LOG_LEVELS, type LogLevel } from '../util/logger.js';
import { parseListenAddress, parseUpstreamAddress } from './addresses.js';
import { DEFAULT_BACKOFF } from '../util/backoff.js';
import { DEFAULT_LISTEN, DEFAULT_UPSTREAMS, DEFAULTS } from './defaults.js';
import { configSource, loadConfig } from './load.js';
import type { ConfigFile, UpstreamEntry, UpstreamObject } from './schema.js';
import { cacheConfig } from './cache-config.js';
import { desktopConfig } from './desktop-config.js';
import { listenTlsSpecs, tlsSettings } from './tls-config.js';

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
export type DaemonConfig = Omit<DaemonOptions, 'logger' | 'clock' | 'tcp'> & {
  readonly logLevel: LogLevel;
  /** The file the settings came from; undefined for the embedded defaults. */
  readonly configPath: string | undefined;
  /** Things worth saying at start that do not stop it (a single pin without backup, say). */
  readonly warnings: readonly string[];
};

function oneOf<T extends string>(value: unknown, allowed: readonly T[], path: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(path, `${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
}

/** An upstream entry of the (already validated) file as the daemon's spec. */
export function upstreamFromEntry(entry: UpstreamEntry, path: string): UpstreamSpec {
  const o: UpstreamObject = typeof entry === 'string' ? { address: entry } : entry;
  const base = parseUpstreamAddress(o.address, `${path}.address`);
  const authName = o.authName === undefined ? base.authName : o.authName.trim();
  const clearPort = o.clearPort ?? base.clearPort;
  return {
    address: base.address,
    port: o.port ?? base.port,
    pins: (o.pins ?? []).map((p, i) => parsePin(p, `${path}.pins[${i}]`)),
    ...(authName === undefined ? {} : { authName }),
    ...(o.profile === undefined ? {} : { profile: o.profile }),
    ...(clearPort === undefined ? {} : { clearPort }),
  };
}

/** `fallback`: clear-text servers (`IP`, `IP@PORT`, `[V6]:PORT`; port 53) for the Opportunistic profile only. */
function fallbackSpecs(file: ConfigFile, upstreams: readonly UpstreamSpec[]): UpstreamSpec[] {
  const specs = file.fallback.map((f, i) => {
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

function listenSpecs(flags: RunFlags, file: ConfigFile): ListenSpec[] {
  if (flags.listen !== undefined && flags.listen.length > 0)
    return flags.listen.map((l, i) => parseListenAddress(l, `--listen[${i}]`));
  if (file.listen !== undefined) return file.listen.map((l, i) => parseListenAddress(l, `listen[${i}]`));
  return DEFAULT_LISTEN.map((l) => ({ ...l, optional: l.host === '::1' }));
}

function upstreamSpecs(flags: RunFlags, file: ConfigFile): UpstreamSpec[] {
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
  return file.upstreams.map((u, i) => upstreamFromEntry(u, `upstreams[${i}]`));
}

/**
 * Providers close idle DoT connections after some seconds (RFC 7766 sec. 6.2.3 suggests seconds, not
 * minutes); a longer idle timeout only keeps sockets the server has already given up on.
 */
const IDLE_TIMEOUT_WARN_MS = 30_000;

function settingWarnings(file: ConfigFile, warnings: string[]): void {
  if (file.idleTimeout > IDLE_TIMEOUT_WARN_MS)
    warnings.push(
      `idleTimeout: ${file.idleTimeout} ms is longer than providers keep an idle connection open (commonly 10-30 s); the server closes it first, and its RFC 7828 keepalive shortens it anyway`,
    );
  if (file.backoff.initial > file.backoff.max)
    warnings.push(
      `backoff: initial ${file.backoff.initial} ms is above max ${file.backoff.max} ms; max wins`,
    );
}

/** Reads an upstream written inside another section (split DNS servers) against the schema. */
export type UpstreamJsonParser = (value: unknown, path: string) => UpstreamSpec;

/** The embedded defaults have no section holding upstreams, so nothing needs the schema's parser. */
const noUpstreamsInDefaults: UpstreamJsonParser = (_value, path) => {
  throw new ConfigError(path, 'an upstream here needs a configuration file');
};

/** The daemon's settings from the flags, the configuration file (see load.ts) and the embedded defaults. */
export async function buildDaemonConfig(flags: RunFlags, defaultPath?: string): Promise<DaemonConfig> {
  const { config, path } = await loadConfig(configSource(flags.config, defaultPath));
  const parseUpstream =
    path === undefined ? noUpstreamsInDefaults : (await import('./upstream-json.js')).upstreamFromJson;
  return configFromFile(flags, config, path, parseUpstream);
}

export function configFromFile(
  flags: RunFlags,
  file: ConfigFile,
  path: string | undefined,
  parseUpstream: UpstreamJsonParser,
): DaemonConfig {
  const warnings: string[] = [];
  const listen = listenSpecs(flags, file);
  const profile = flags.profile ?? file.profile;
  // The global profile (or -m / -n) applies to every upstream that does not set its own.
  const upstreams = upstreamSpecs(flags, file).map((u) =>
    flags.profile !== undefined || u.profile === undefined ? { ...u, profile } : u,
  );
  // The sections with their own parsers read the file as plain JSON (already checked to be an object).
  const json = file as unknown as Record<string, unknown>;
  const listenTls = listenTlsSpecs(flags.listenTls, json);
  checkUpstreams(upstreams, [...listen, ...listenTls], warnings);
  settingWarnings(file, warnings);
  const logLevelPath = flags.logLevel === undefined ? 'logLevel' : '--log-level';
  return {
    configPath: path,
    listen,
    upstreams,
    fallback: fallbackSpecs(file, upstreams),
    caFile: flags.caFile ?? file.caFile,
    logLevel: oneOf(flags.logLevel ?? file.logLevel, LOG_LEVELS, logLevelPath),
    selection: file.selection,
    timeoutMs: file.timeout,
    idleTimeoutMs: file.idleTimeout,
    connectTimeoutMs: file.connectTimeout,
    paddingBlockSize: file.paddingBlockSize,
    maxOutstanding: file.limitOutstandingQueries,
    maxConnectionsPerUpstream: DEFAULTS.maxConnectionsPerUpstream,
    maxInFlightPerConnection: DEFAULTS.maxInFlightPerConnection,
    backoff: {
      baseMs: Math.min(file.backoff.initial, file.backoff.max),
      capMs: file.backoff.max,
      jitter: DEFAULT_BACKOFF.jitter,
      softFailures: file.connectionRetries,
    },
    minTlsVersion: file.tlsMinVersion === 'TLS1.3' ? 'TLSv1.3' : 'TLSv1.2',
    ecsPrivate: file.ecsPrivate,
    listenTls,
    tls: tlsSettings(json, listenTls),
    cache: cacheConfig(json),
    // domains, followSystemDomains, watchNetwork, portal (src/config/desktop-config.ts)
    desktop: desktopConfig(json, parseUpstream),
    warnings,
  };
}
