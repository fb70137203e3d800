/** The daemon's options and its running handle (src/server/daemon.ts builds one from the other). */
import type { EventEmitter } from 'node:events';
import type { CacheConfig, CacheTuning } from '../cache/cache-options.js';
import type { ResponseCache } from '../cache/response-cache.js';
import type { DesktopLife, DesktopOptions } from '../desktop/desktop-life.js';
import type { Resolver } from '../resolver/resolver.js';
import type { SelectionStrategy } from '../resolver/selection.js';
import type { TlsUpstream } from '../upstream/tls-upstream.js';
import type { UpstreamSpec } from '../upstream/upstream.js';
import type { BackoffPolicy } from '../util/backoff.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { ControlServer } from './control-server.js';
import type { ServerCounters } from './query-handler.js';
import type { ReloadOptions, ReloadSummary } from './reload.js';
import type { StatusSection } from './status-snapshot.js';
import type { TcpLimits } from './tcp-listener.js';
import type { TlsSettings } from './tls-settings.js';
import type { ListenerStatus } from './tls-status.js';

export interface ListenSpec {
  readonly host: string;
  readonly port: number;
  /** An address of the embedded default (::1): skipped with a warning when the machine lacks it. */
  readonly optional?: boolean;
}

export interface DaemonOptions {
  readonly listen: readonly ListenSpec[];
  readonly upstreams: readonly UpstreamSpec[];
  /** Clear-text servers for the Opportunistic profile, used when nothing else answers. */
  readonly fallback?: readonly UpstreamSpec[] | undefined;
  readonly caFile?: string | undefined;
  readonly selection: SelectionStrategy;
  readonly timeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly paddingBlockSize: number;
  readonly maxOutstanding: number;
  readonly maxConnectionsPerUpstream: number;
  readonly maxInFlightPerConnection: number;
  readonly tcp?: TcpLimits;
  /** DNS-over-TLS listen addresses (--listen-tls); none by default. */
  readonly listenTls?: readonly ListenSpec[] | undefined;
  /** The DoT listener's settings; needed when listenTls is not empty. */
  readonly tls?: TlsSettings | undefined;
  /** Wall-clock ms for ticket key epochs and certificate dates. @default Date.now */
  readonly wallNow?: () => number;
  readonly backoff?: BackoffPolicy | undefined;
  /** Lowest TLS version offered to upstreams. @default 'TLSv1.2' */
  readonly minTlsVersion?: 'TLSv1.2' | 'TLSv1.3' | undefined;
  /** RFC 7871 sec. 7.1.2: ECS with source prefix 0 upstream, none to clients. @default true */
  readonly ecsPrivate?: boolean | undefined;
  /** See TlsUpstreamOptions.nudgeAfterTicket; off only in tests that count queries. @default true */
  readonly nudgeAfterTicket?: boolean | undefined;
  readonly logger: Logger;
  readonly clock?: Clock;
  /**
   * The control socket `dotstub status` and friends talk to. `required: false` (the default path) only
   * warns when another daemon already holds it; an explicit path that cannot be opened stops the start.
   */
  readonly control?: { readonly path: string; readonly required: boolean } | undefined;
  /** The answer cache (`cache.*` keys); undefined or `enabled: false`: none. */
  readonly cache?: CacheConfig | undefined;
  /** Tests shorten the cache's fixed timers and thresholds. */
  readonly cacheTuning?: Partial<CacheTuning> | undefined;
  /** Sleep and network-change recovery, split DNS, portal mode. @default no watching, no split rules */
  readonly desktop?: DesktopOptions | undefined;
}

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
}

export interface Daemon {
  readonly addresses: readonly BoundAddress[];
  /** The DoT listeners' addresses (port 0 resolved). */
  readonly tlsAddresses: readonly BoundAddress[];
  readonly resolver: Resolver;
  readonly upstreams: readonly TlsUpstream[];
  readonly counters: ServerCounters;
  /**
   * The answer cache, undefined when disabled. flush(name?) for network changes; upstreamsChanged(profiles)
   * for the reload code when the upstream configuration changes; stats() for status.
   */
  readonly cache: ResponseCache | undefined;
  /** Where features add their control methods (status, reload, cache flush...); undefined without a socket. */
  readonly control: ControlServer | undefined;
  /**
   * Parts other features add to the `status` answer, by name: `statusSections.set('cache', () => ({...}))`
   * appears as `sections.cache` (see status-snapshot.ts).
   */
  readonly statusSections: Map<string, StatusSection>;
  /** The DoT listener's counters (also the control method `listener.status`). */
  listenerStatus(): ListenerStatus;
  readonly desktop: DesktopLife;
  /** 'network-change' (NetworkChangeEvent): after a wake or network change; the cache flushes on it. */
  readonly events: EventEmitter;
  /** Applies new settings in place (src/server/reload.ts); on error nothing changes. */
  reload(options: ReloadOptions): Promise<ReloadSummary>;
  close(): Promise<void>;
  destroy(): void;
}
