/**
 * `dotstub run`: load the configuration, start the daemon, stop it gracefully on SIGTERM or SIGINT, and
 * reload it in place on SIGHUP or `dotstub reload`.
 */
import { parseArgs } from 'node:util';
import { buildDaemonConfig, type RunFlags } from '../config/daemon-config.js';
import { formatHostPort } from '../config/addresses.js';
import { controlSocketPath, currentScope } from '../config/paths.js';
import { ConfigError } from '../errors.js';
import { startDaemon } from '../server/daemon.js';
import {
  feedbackFromFirstCall,
  keepYoungGenerationSmall,
  limitOldGenerationGrowth,
  scavengeOnMainThread,
  skipMaglev,
} from '../server/heap-tuning.js';
import type { UsageProfile } from '../upstream/usage-profile.js';
import { formatUpstream } from '../upstream/upstream.js';
import { createLogger } from '../util/logger.js';
import { dropAfterBind } from './run-privileges.js';
import { wireReload } from './run-reload.js';

/** How long in-flight queries get to finish on shutdown before everything is cut. */
const SHUTDOWN_GRACE_MS = 5000;

export const RUN_USAGE = `usage: dotstub run [--config FILE] [--listen ADDR[@PORT]]... [--upstream IP[#PORT][~AUTHNAME]]...
                  [--listen-tls ADDR[@PORT]]...
                  [-K|--pin 'pin-sha256="BASE64"']... [-m|-n] [--ca-file FILE]
                  [--log-level error|warn|info|debug] [--control SOCKET] [--user NAME]
  -m  Strict profile: authenticated TLS only, never clear text (the default)
  -n  Opportunistic profile: TLS when possible, clear DNS to port 53 when TLS cannot be set up
  --user NAME  started as root: become NAME once the sockets are bound (default: dotstub, else nobody, when a
               port below 1024 was bound; --user root stays root)
  --listen-tls  also serve DNS-over-TLS there (port 853 unless @PORT; loopback clients only unless
                the config's tls.allow names networks; see "Serve DNS-over-TLS to a second device")`;

export const RUN_OPTIONS = {
  config: { type: 'string' },
  listen: { type: 'string', multiple: true },
  'listen-tls': { type: 'string', multiple: true },
  upstream: { type: 'string', multiple: true },
  pin: { type: 'string', short: 'K', multiple: true },
  'ca-file': { type: 'string' },
  'log-level': { type: 'string' },
  control: { type: 'string' },
  user: { type: 'string' },
  // getdns_query's -m (authentication required: Strict) and -n (none: Opportunistic).
  strict: { type: 'boolean', short: 'm' },
  opportunistic: { type: 'boolean', short: 'n' },
} as const;

export interface RunValues {
  config?: string | undefined;
  listen?: string[] | undefined;
  'listen-tls'?: string[] | undefined;
  upstream?: string[] | undefined;
  pin?: string[] | undefined;
  'ca-file'?: string | undefined;
  'log-level'?: string | undefined;
  control?: string | undefined;
  user?: string | undefined;
  strict?: boolean | undefined;
  opportunistic?: boolean | undefined;
}

function profileFlag(values: RunValues): UsageProfile | undefined {
  if (values.strict === true && values.opportunistic === true) {
    throw new ConfigError('-m/-n', 'choose one: -m (Strict, authentication required) or -n (Opportunistic)');
  }
  return values.strict === true ? 'strict' : values.opportunistic === true ? 'opportunistic' : undefined;
}

/** `dotstub run ARGS`: parses the flags, then runs until a signal stops the daemon. */
export async function runMain(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  const { values } = parseArgs({
    args: [...args],
    options: RUN_OPTIONS,
    strict: true,
    allowPositionals: false,
  });
  return runCommand(values);
}

/** Resolves with the exit code once the daemon has stopped. */
export async function runCommand(values: RunValues): Promise<number> {
  const flags: RunFlags = {
    config: values.config,
    listen: values.listen,
    listenTls: values['listen-tls'],
    upstream: values.upstream,
    pin: values.pin,
    caFile: values['ca-file'],
    logLevel: values['log-level'],
    profile: profileFlag(values),
  };
  // Before the configuration is read: reading a file (the conf store, its validation) kept enough alive
  // through the scavenges of start-up that V8 doubled the young generation first, so a daemon started with
  // --config ran with 2 MB semi-spaces and one without it with 1 MB (heap-tuning.ts).
  const youngKept = keepYoungGenerationSmall();
  const oldLimited = limitOldGenerationGrowth();
  const maglevSkipped = skipMaglev();
  const scavengeAlone = scavengeOnMainThread();
  const config = await buildDaemonConfig(flags);
  const logger = createLogger({ level: config.logLevel });
  if (youngKept) logger.debug('V8 young generation kept at its initial size (heap-tuning.ts)');
  if (oldLimited) logger.debug('V8 old generation grows by 30 % at most (heap-tuning.ts)');
  if (maglevSkipped) logger.debug('V8 mid-tier compiler (Maglev) off (heap-tuning.ts)');
  if (scavengeAlone) logger.debug('V8 young-generation collections without helper threads (heap-tuning.ts)');
  if (config.configPath !== undefined) logger.info('configuration', { file: config.configPath });
  for (const warning of config.warnings) logger.warn(warning);
  const control =
    values.control === undefined
      ? { path: controlSocketPath(currentScope()), required: false }
      : { path: values.control, required: true };
  const daemon = await startDaemon({ ...config, logger, control });
  // After start-up's code ran (lazily, as before), before the first query's (heap-tuning.ts).
  if (feedbackFromFirstCall()) logger.debug('V8 type feedback from the first call (heap-tuning.ts)');
  await dropAfterBind(values.user, daemon, control.path, logger);
  daemon.control?.handle('ping', () => ({ pid: process.pid, uptimeMs: Math.round(process.uptime() * 1000) }));
  const unwireReload = wireReload(daemon, flags, config, logger);
  logger.info('ready', {
    listen: daemon.addresses.map(formatHostPort).join(','),
    listenTls: daemon.tlsAddresses.map(formatHostPort).join(',') || undefined,
    upstreams: config.upstreams.map(formatUpstream).join(','),
    profiles: [...new Set(config.upstreams.map((u) => u.profile ?? 'strict'))].join(','),
  });
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      logger.info('stopping', { signal });
      unwireReload();
      const force = setTimeout(() => {
        logger.warn('queries still in flight after the grace period; closing now');
        daemon.destroy();
        resolve(0);
      }, SHUTDOWN_GRACE_MS);
      force.unref();
      void daemon.close().then(() => {
        clearTimeout(force);
        logger.info('stopped');
        resolve(0);
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
