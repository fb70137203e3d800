/**
 * Builds the answer to the `status` control method: the whole daemon in one JSON-able object (see
 * src/control/status-types.ts). It reads counters the hot path keeps anyway; all the work (percentiles,
 * copies, memory) happens here, when someone asks.
 *
 * Extending it: a feature adds a section with `daemon.statusSections.set('cache', () => ({...}))`. The
 * function runs on every status request and its result appears as `sections.cache`; it must return
 * JSON-able data (numbers at the leaves show up in `dotstub status --prometheus` as
 * `dotstub_cache_<path>`). A section that throws shows as `{ error: message }` and spoils nothing else.
 */
import { readFileSync } from 'node:fs';
import { STATUS_VERSION, type GlobalStatus, type StatusSnapshot } from '../control/status-types.js';
import { describeCause } from '../errors.js';
import type { Resolver } from '../resolver/resolver.js';
import { OpportunisticUpstream } from '../upstream/opportunistic-upstream.js';
import type { Clock } from '../util/clock.js';
import type { ServerCounters } from './query-handler.js';
import { upstreamStatus, type Moment } from './status-upstream.js';

/** A named part of the status that another feature provides; called on every `status` request. */
export type StatusSection = () => unknown;

export interface StatusSource {
  readonly resolver: Resolver;
  readonly counters: ServerCounters;
  readonly listen: readonly string[];
  readonly strategy: string;
  readonly statusSections: ReadonlyMap<string, StatusSection>;
  readonly clock: Clock;
}

const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'] as const;

let cachedVersion: string | undefined;
function packageVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  try {
    const url = new URL('../../../package.json', import.meta.url);
    cachedVersion = (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    cachedVersion = 'unknown';
  }
  return cachedVersion;
}

function rcodeCounts(counters: ServerCounters): Record<string, number> {
  const out: Record<string, number> = {};
  let other = 0;
  counters.rcodes.forEach((n, rcode) => {
    const name = RCODE_NAMES[rcode];
    if (name === undefined) other += n;
    else out[name] = n;
  });
  // FORMERR and NOTIMP made by the listener itself, for queries that never reached the resolver.
  out.FORMERR = (out.FORMERR ?? 0) + counters.formerr;
  out.NOTIMP = (out.NOTIMP ?? 0) + counters.notimp;
  out.other = other;
  return out;
}

function globalStatus(source: StatusSource): GlobalStatus {
  const { resolver, counters } = source;
  let downgrades = 0;
  let upgrades = 0;
  for (const { upstream } of resolver.upstreams) {
    if (!(upstream instanceof OpportunisticUpstream)) continue;
    downgrades += upstream.counters.downgrades;
    upgrades += upstream.counters.upgrades;
  }
  const memory = process.memoryUsage();
  return {
    queries: { ...counters.queries },
    answersByTransport: { ...counters.upstreamAnswers },
    rcodes: rcodeCounts(counters),
    servfailLocal: resolver.counters.servfail,
    overloaded: resolver.counters.overloaded,
    dropped: counters.dropped,
    truncated: counters.truncated,
    udpReadPauses: counters.udpReadPauses,
    downgrades,
    upgrades,
    outstanding: resolver.outstanding,
    outstandingPeak: resolver.counters.outstandingPeak,
    memory: {
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapTotalBytes: memory.heapTotal,
      externalBytes: memory.external,
    },
  };
}

function sections(source: StatusSource): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, section] of source.statusSections) {
    try {
      out[name] = section();
    } catch (err) {
      out[name] = { error: describeCause(err) };
    }
  }
  return out;
}

export function buildStatusSnapshot(source: StatusSource, wallNow = Date.now()): StatusSnapshot {
  const at: Moment = { clockNow: source.clock.now(), wallNow };
  return {
    version: STATUS_VERSION,
    generatedAt: new Date(wallNow).toISOString(),
    daemon: {
      version: packageVersion(),
      pid: process.pid,
      uptimeMs: Math.round(process.uptime() * 1000),
      node: process.version,
      listen: source.listen,
      strategy: source.strategy,
    },
    global: globalStatus(source),
    upstreams: source.resolver.upstreams.map(({ upstream, health }) => upstreamStatus(upstream, health, at)),
    sections: sections(source),
  };
}
