/**
 * The configuration file, as one zod schema: the TypeScript types (z.infer), the validation with its
 * messages, and the JSON Schema (docs/config.schema.json, `dotstub config schema`) all come from here.
 * Every key is optional; the defaults are the embedded ones (src/config/defaults.ts).
 */
import * as z from 'zod';
import { SELECTION_STRATEGIES } from '../resolver/selection.js';
import { USAGE_PROFILES } from '../upstream/usage-profile.js';
import { LOG_LEVELS } from '../util/logger.js';
import { DEFAULT_LISTEN, DEFAULT_UPSTREAMS, DEFAULTS } from './defaults.js';
import {
  accepts,
  authNameField,
  listenAddressField,
  oneOf,
  pinField,
  portField,
  upstreamAddressField,
  wholeNumber,
} from './schema-fields.js';

export const TLS_VERSIONS = ['TLS1.2', 'TLS1.3'] as const;

export const UpstreamObjectSchema = z.strictObject({
  address: upstreamAddressField,
  port: portField.optional().meta({ description: 'The DoT port (RFC 7858 sec. 3.1). @default 853' }),
  authName: authNameField.optional(),
  pins: z.array(pinField, accepts('a list of pins')).optional().meta({
    description: 'Any of these pins must match the validated chain (RFC 7858 sec. 4.2); add a backup.',
  }),
  profile: oneOf(USAGE_PROFILES).optional().meta({
    description: 'This upstream\'s usage profile (RFC 8310 sec. 5); @default the global "profile".',
  }),
  clearPort: portField
    .optional()
    .meta({ description: 'Clear DNS port for the Opportunistic fallback. @default 53' }),
});

export const UpstreamEntrySchema = z
  .union(
    [upstreamAddressField, UpstreamObjectSchema],
    accepts('"IP#PORT~NAME" or {"address", "port", "authName", "pins"}'),
  )
  .meta({ description: 'An upstream: `IP#PORT~NAME`, or an object.' });

const defaultUpstreams = DEFAULT_UPSTREAMS.map((u) => ({
  address: u.address,
  port: u.port,
  ...(u.authName === undefined ? {} : { authName: u.authName }),
}));

export const ConfigSchema = z
  .strictObject(
    {
      listen: z
        .array(listenAddressField, accepts('a list of listen addresses'))
        // An empty list validated, and then the daemon refused to start with nothing to bind.
        .min(
          1,
          'expected at least one listen address, such as "127.0.0.1@53" (leave the key out for the defaults)',
        )
        .optional()
        .meta({
          description: 'Addresses to serve DNS on, UDP and TCP. A missing ::1 of the default is skipped.',
          default: DEFAULT_LISTEN.map((l) => `${l.host}@${l.port}`),
        }),
      upstreams: z.array(UpstreamEntrySchema, accepts('a list of upstreams')).optional().meta({
        description: 'DNS-over-TLS servers, by IP address (no bootstrap lookups).',
        default: defaultUpstreams,
      }),
      profile: oneOf(USAGE_PROFILES)
        .default('strict')
        .meta({ description: 'RFC 8310 usage profile for upstreams that do not set their own.' }),
      fallback: z
        .array(listenAddressField, accepts('a list of addresses such as 192.0.2.53 or 192.0.2.53@53'))
        .default([])
        .meta({ description: 'Clear-text servers (port 53), used last, in the Opportunistic profile only.' }),
      selection: oneOf(SELECTION_STRATEGIES).default(DEFAULTS.selection).meta({
        description:
          "round-robin spreads queries (stubby's round_robin_upstreams: 1); ordered uses the first that works.",
      }),
      timeout: wholeNumber(100, 60_000, ' ms')
        .default(DEFAULTS.timeoutMs)
        .meta({ description: "End-to-end deadline of one query, ms (stubby's timeout)." }),
      idleTimeout: wholeNumber(0, 600_000, ' ms').default(DEFAULTS.idleTimeoutMs).meta({
        description:
          'Idle TLS connections close after this many ms, or sooner if the server says so (RFC 7828).',
      }),
      connectTimeout: wholeNumber(100, 60_000, ' ms')
        .default(DEFAULTS.connectTimeoutMs)
        .meta({ description: 'TCP connect plus TLS handshake, ms.' }),
      paddingBlockSize: wholeNumber(0, 4096).default(DEFAULTS.paddingBlockSize).meta({
        description:
          'Pad queries to a multiple of this many octets (RFC 8467 sec. 4.1); 0 turns padding off.',
      }),
      limitOutstandingQueries: wholeNumber(1, 1_000_000)
        .default(DEFAULTS.maxOutstanding)
        .meta({ description: 'Queries in progress before new ones get SERVFAIL at once.' }),
      backoff: z
        .strictObject(
          {
            initial: wholeNumber(1, 3_600_000, ' ms')
              .default(DEFAULTS.backoffInitialMs)
              .meta({ description: 'Delay after the first failure, ms; it doubles with each failure.' }),
            max: wholeNumber(1, 86_400_000, ' ms')
              .default(DEFAULTS.backoffMaxMs)
              .meta({ description: "Longest delay, ms (stubby's tls_backoff_time, in seconds there)." }),
          },
          accepts('an object {"initial", "max"} in ms'),
        )
        .default({ initial: DEFAULTS.backoffInitialMs, max: DEFAULTS.backoffMaxMs })
        .meta({ description: 'How long a failing upstream is left alone before it is tried again.' }),
      connectionRetries: wholeNumber(1, 100).default(DEFAULTS.connectionRetries).meta({
        description:
          "Timeouts or dropped connections in a row before an upstream backs off (stubby's tls_connection_retries); refused connections and failed authentication back off at once.",
      }),
      tlsMinVersion: oneOf(TLS_VERSIONS).default('TLS1.2').meta({
        description: 'Lowest TLS version offered to upstreams (RFC 7858 sec. 3.3 and RFC 8310 need 1.2).',
      }),
      caFile: z
        .string(accepts('a file name'))
        .min(1, accepts('a file name'))
        .optional()
        .meta({ description: 'PEM file of extra trusted CAs, added to the bundled roots.' }),
      ecsPrivate: z.boolean(accepts('true or false')).default(true).meta({
        description:
          "EDNS Client Subnet privacy (RFC 7871 sec. 7.1.2, stubby's edns_client_subnet_private): queries carry ECS with source prefix 0, so the resolver must not use the client's address; ECS is stripped from answers.",
      }),
      logLevel: oneOf(LOG_LEVELS)
        .default(DEFAULTS.logLevel)
        .meta({ description: 'How much the daemon logs.' }),
      // The sections below are checked key by key, with the key path in every message, by their own
      // parsers (src/config/{tls,cache,desktop}-config.ts); here they are only named and described.
      listenTls: z
        .array(z.string(accepts('an address such as 192.0.2.1@853')), accepts('a list of addresses'))
        .optional()
        .meta({
          description: 'Serve DNS-over-TLS on these addresses, ADDR[@PORT] (port 853); off by default.',
        }),
      tls: z.unknown().optional().meta({
        description:
          'The DoT listener: certs [{cert, key}], padding, ticketSecretFile, ticketRotationMs, allow (CIDRs), maxConnections, maxConnectionsPerClient, idleTimeout, certDir (README, "Serve DNS-over-TLS").',
      }),
      cache: z.unknown().optional().meta({
        description:
          'The answer cache: enabled, maxEntries, maxBytes, maxTtl, minTtl, prefetch, serveStale, maxStaleAge (README, "Cache").',
      }),
      domains: z.unknown().optional().meta({
        description: 'Split DNS rules: [{suffix, servers, clear?}] (README, "Laptop life").',
      }),
      followSystemDomains: z.unknown().optional().meta({
        description: "Follow systemd-resolved's or NetworkManager's per-link domains (Linux). @default false",
      }),
      watchNetwork: z.unknown().optional().meta({
        description: 'Watch for sleep and network changes and recover from them. @default true',
      }),
      portal: z.unknown().optional().meta({
        description: 'Captive portal mode: servers, probe URL (README, "Laptop life").',
      }),
      // Editors find a file's JSON Schema by this key (docs/config.schema.json); dotstub ignores it.
      $schema: z.string().optional().meta({
        description: 'The JSON Schema of this file, for editors (dotstub config schema prints it); ignored.',
      }),
    },
    accepts('a JSON object'),
  )
  .meta({ title: 'dotstub configuration' });

/** The file as written: every key optional. */
export type ConfigInput = z.input<typeof ConfigSchema>;
/** The file with the embedded defaults filled in (listen and upstreams stay optional). */
export type ConfigFile = z.output<typeof ConfigSchema>;
export type UpstreamEntry = NonNullable<ConfigFile['upstreams']>[number];
export type UpstreamObject = z.output<typeof UpstreamObjectSchema>;

/** The key names, for `dotstub config` and the unknown-key message. */
export const CONFIG_KEYS = Object.keys(ConfigSchema.shape);
