/**
 * Reload for `dotstub run`: SIGHUP and the control method `reload` re-read the same sources (the same
 * flags, the same file) and apply them in place. A configuration that does not validate, or a new listen
 * address that cannot be bound, changes nothing: it is logged, and `dotstub reload` gets the error.
 * Reloads run one at a time.
 */
import { buildDaemonConfig, type DaemonConfig, type RunFlags } from '../config/daemon-config.js';
import { describeCause } from '../errors.js';
import type { Daemon } from '../server/daemon.js';
import type { ReloadSummary } from '../server/reload.js';
import type { Logger } from '../util/logger.js';

/**
 * Sections a reload does not apply yet: the DoT listener, the cache's sizes, split DNS and portal rules
 * are built once at start. A change to one is said out loud rather than silently ignored.
 */
const RESTART_ONLY = ['listenTls', 'tls', 'cache', 'desktop'] as const;

export function restartOnlyChanges(started: DaemonConfig, next: DaemonConfig): string[] {
  return RESTART_ONLY.filter((key) => JSON.stringify(started[key]) !== JSON.stringify(next[key])).map(
    (key) =>
      `${key === 'desktop' ? 'domains/followSystemDomains/watchNetwork/portal' : key} changed: it takes effect at the next start (restart the daemon)`,
  );
}

export type ReloadResult = ReloadSummary & { readonly warnings: readonly string[] };

export function wireReload(
  daemon: Daemon,
  flags: RunFlags,
  started: DaemonConfig,
  logger: Logger,
): () => void {
  let queue: Promise<unknown> = Promise.resolve();
  const reload = (trigger: string): Promise<ReloadResult> => {
    const run = async (): Promise<ReloadResult> => {
      try {
        const next = await buildDaemonConfig(flags);
        const summary = await daemon.reload(next);
        const warnings = [...next.warnings, ...restartOnlyChanges(started, next)];
        for (const warning of warnings) logger.warn(warning);
        if (next.logLevel !== started.logLevel)
          logger.warn('logLevel changes take effect at the next start', { logLevel: next.logLevel });
        logger.info('reloaded', {
          trigger,
          config: next.configPath ?? 'defaults',
          upstreams_kept: summary.upstreams.kept,
          upstreams_added: summary.upstreams.added,
          upstreams_removed: summary.upstreams.removed,
          listen_added: summary.listen.added,
          listen_removed: summary.listen.removed,
        });
        return { ...summary, warnings };
      } catch (err) {
        logger.error('reload failed; the running configuration stays in place', {
          trigger,
          cause: describeCause(err),
        });
        throw err;
      }
    };
    const result = queue.then(run, run);
    queue = result.catch(() => undefined);
    return result;
  };
  daemon.control?.handle('reload', () => reload('control'));
  const onHangup = (): void => {
    reload('SIGHUP').catch(() => undefined);
  };
  process.on('SIGHUP', onHangup);
  return () => {
    process.off('SIGHUP', onHangup);
  };
}
