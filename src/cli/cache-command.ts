/** `dotstub cache flush [NAME]` and `dotstub cache stats [--json]`: the running daemon's answer cache. */
import { parseArgs } from 'node:util';
import { callDaemon } from './control-client.js';

export const CACHE_USAGE = `usage: dotstub cache flush [NAME] [--control SOCKET]
       dotstub cache stats [--json] [--control SOCKET]
  flush         empty the cache, or drop every type of one NAME
  stats         entries, memory, hits, misses, prefetches, stale answers served, evictions, answers not
                stored (asked once while the cache was full of live answers), coalesced queries`;

interface Stats {
  enabled: boolean;
  entries?: number;
  bytes?: number;
  hits?: number;
  misses?: number;
  prefetches?: number;
  staleServed?: number;
  evictions?: number;
  declined?: number;
  coalesced?: number;
  flushes?: number;
}

function statsText(s: Stats): string {
  if (!s.enabled) return 'cache: disabled (cache.enabled is false)\n';
  const hits = s.hits ?? 0;
  const lookups = hits + (s.misses ?? 0);
  const ratio = lookups === 0 ? '-' : `${((hits / lookups) * 100).toFixed(1)} %`;
  const rows: [string, string][] = [
    ['entries', String(s.entries ?? 0)],
    ['memory', `${((s.bytes ?? 0) / 1024).toFixed(1)} KiB`],
    ['hits', String(hits)],
    ['misses', String(s.misses ?? 0)],
    ['hit ratio', ratio],
    ['prefetches', String(s.prefetches ?? 0)],
    ['stale served', String(s.staleServed ?? 0)],
    ['evictions', String(s.evictions ?? 0)],
    ['not stored', String(s.declined ?? 0)],
    ['coalesced', String(s.coalesced ?? 0)],
    ['flushes', String(s.flushes ?? 0)],
  ];
  return rows.map(([k, v]) => `${k.padEnd(13)} ${v}\n`).join('');
}

export async function cacheCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    options: {
      json: { type: 'boolean', default: false },
      control: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  const [action, name, ...extra] = positionals;
  if (values.help) {
    process.stdout.write(`${CACHE_USAGE}\n`);
    return 0;
  }
  const wrongArity = action === 'stats' ? name !== undefined : extra.length > 0;
  if ((action !== 'flush' && action !== 'stats') || wrongArity) {
    process.stderr.write(`${CACHE_USAGE}\n`);
    return 64;
  }
  const options = values.control === undefined ? {} : { path: values.control };
  if (action === 'flush') {
    const result = (await callDaemon('cache.flush', name === undefined ? {} : { name }, options)) as {
      enabled: boolean;
      removed: number;
    };
    if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
    else if (!result.enabled) process.stdout.write('cache: disabled, nothing to flush\n');
    else
      process.stdout.write(
        `flushed ${result.removed} entr${result.removed === 1 ? 'y' : 'ies'}${name === undefined ? '' : ` for ${name}`}\n`,
      );
    return 0;
  }
  const stats = (await callDaemon('cache.stats', undefined, options)) as Stats;
  process.stdout.write(values.json ? `${JSON.stringify(stats, null, 2)}\n` : statsText(stats));
  return 0;
}
