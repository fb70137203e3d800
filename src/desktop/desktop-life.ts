/**
 * A laptop's life: wakes from sleep and network changes (drop stale connections, forget backoff, re-probe,
 * tell the cache), split DNS (configured rules, the OS's per-link domains, locally served zones) and portal
 * mode, as the resolver's QueryRouter. Events on `events`:
 *   'network-change' (NetworkChangeEvent): after a wake, a settled network change or `network.reset`;
 *     upstream connections are already dropped and health reset when it fires. The cache flushes on it.
 */
import { EventEmitter } from 'node:events';
import { describeCause } from '../errors.js';
import type { QueryRouter, RouteDecision } from '../resolver/query-router.js';
import type { Resolver } from '../resolver/resolver.js';
import { SplitRoutes, type SplitMatch, type SplitRule } from '../resolver/split-routes.js';
import type { SharedUpstreamOptions } from '../upstream/create-upstream.js';
import type { Upstream } from '../upstream/upstream.js';
import type { Clock } from '../util/clock.js';
import { NetworkWatcher, type NetworkSample, type NetworkWatcherOptions } from './network-watcher.js';
import { PortalController, type PortalConfig } from './portal-controller.js';
import { probeRoute, type RouteProbe } from './route-probe.js';
import { ClearUpstreams, configRules, systemSplitRules, type SplitDomainSpec } from './split-upstreams.js';
import { readSystemLinks, systemRules, type SystemLink } from './system-domains.js';
import { WakeDetector, type WakeDetectorOptions } from './wake-detector.js';

export interface DesktopOptions {
  /** Split DNS rules (config key `domains`). */
  readonly domains?: readonly SplitDomainSpec[] | undefined;
  /** Follow systemd-resolved / NetworkManager per-link domains (Linux). @default false */
  readonly followSystemDomains?: boolean | undefined;
  readonly portal?: PortalConfig | undefined;
  /** Watch for wakes and network changes. @default true */
  readonly watchNetwork?: boolean | undefined;
  /** Tests: clocks of the wake detector, the poller's clock and interfaces, and other seams. */
  readonly wake?: Partial<Omit<WakeDetectorOptions, 'onWake'>> | undefined;
  readonly network?: Partial<Omit<NetworkWatcherOptions, 'onChange' | 'probeRoutes'>> | undefined;
  readonly routeProbe?: RouteProbe | undefined;
  readonly systemLinks?: (() => Promise<SystemLink[]>) | undefined;
  readonly portalClock?: Clock | undefined;
  /**
   * Open a connection to each public upstream at start and after a change, before the next query needs one.
   * @default true
   */
  readonly reprobe?: boolean | undefined;
}

export type NetworkChangeReason = 'wake' | 'network' | 'manual';

export interface NetworkChangeEvent {
  readonly reason: NetworkChangeReason;
  /** Wall-clock time, ms since the epoch. */
  readonly at: number;
  readonly sleptMs?: number | undefined;
}

const REPROBE_TIMEOUT_MS = 3000;

export class DesktopLife implements QueryRouter {
  readonly events = new EventEmitter();
  readonly wake: WakeDetector;
  readonly watcher: NetworkWatcher;
  readonly portal: PortalController;
  readonly #options: DesktopOptions;
  readonly #shared: SharedUpstreamOptions;
  #public: readonly Upstream[];
  readonly #configRules: readonly SplitRule[];
  readonly #systemUpstreams: ClearUpstreams;
  #routes: SplitRoutes;
  #resolver: Resolver | undefined;
  #reachable = new Map<string, boolean>();
  /** Whether any upstream address is known unreachable: if none, reachable() needs no lookup (per query). */
  #anyUnreachable = false;
  #changes = 0;
  #wakes = 0;
  #last: NetworkChangeEvent | undefined;
  #systemError: string | undefined;
  #ignoredDomains: string[] = [];

  constructor(options: DesktopOptions, shared: SharedUpstreamOptions, publicUpstreams: readonly Upstream[]) {
    this.#options = options;
    this.#shared = shared;
    this.#public = publicUpstreams;
    this.#configRules = configRules(options.domains ?? [], shared);
    this.#systemUpstreams = new ClearUpstreams(shared);
    this.#routes = new SplitRoutes(this.#configRules);
    this.wake = new WakeDetector({
      ...options.wake,
      onWake: (sleptMs) => {
        void this.networkChanged('wake', sleptMs);
      },
    });
    this.watcher = new NetworkWatcher({
      ...options.network,
      probeRoutes: () => this.#probeRoutes(),
      onChange: (sample, previous) => {
        this.#noteRoutes(sample, previous);
        void this.networkChanged('network');
      },
    });
    this.portal = new PortalController({
      config: options.portal ?? {},
      shared,
      clock: options.portalClock ?? shared.clock,
      logger: shared.logger,
      systemLinks: () => this.#systemLinks(),
    });
  }

  /** The public upstreams after a reload: route probes and status follow them. */
  setPublicUpstreams(upstreams: readonly Upstream[]): void {
    this.#public = upstreams;
  }

  /** The resolver whose health a change resets (it is built with this object as its router). */
  attach(resolver: Resolver): void {
    this.#resolver = resolver;
  }

  async start(): Promise<void> {
    if (this.#options.followSystemDomains === true) await this.refreshSystemDomains();
    if (this.#options.watchNetwork === false) {
      this.#setReachable(await this.#probeRoutes());
    } else {
      await this.watcher.start();
      this.#setReachable(this.watcher.current?.routes ?? {});
      this.wake.start();
    }
    this.portal.start();
  }

  route(name: string): RouteDecision | undefined {
    return this.#decide(this.#routes.matchNormalized(name));
  }

  routeKey(key: string): RouteDecision | undefined {
    return this.#decide(this.#routes.matchKey(key));
  }

  /** A split rule's upstreams, a local zone, the portal's upstreams while one holds the network, or none. */
  #decide(hit: SplitMatch | undefined): RouteDecision | undefined {
    if (hit?.kind === 'local') return hit;
    if (hit?.kind === 'rule') return { kind: 'upstreams', group: hit.suffix, upstreams: hit.rule.upstreams };
    const portal = this.portal.upstreams();
    return portal === undefined ? undefined : { kind: 'upstreams', group: 'portal', upstreams: portal };
  }

  reachable(upstream: Upstream): boolean {
    return !this.#anyUnreachable || this.#reachable.get(upstream.spec.address) !== false;
  }

  #setReachable(routes: Record<string, boolean>): void {
    this.#reachable = new Map(Object.entries(routes));
    this.#anyUnreachable = Object.values(routes).includes(false);
  }

  #allUpstreams(): Upstream[] {
    const split = this.#routes.rules.flatMap((r) => r.upstreams);
    return [...new Set([...this.#public, ...split, ...(this.portal.upstreams() ?? [])])];
  }

  async #probeRoutes(): Promise<Record<string, boolean>> {
    const probe = this.#options.routeProbe ?? probeRoute;
    const addresses = [...new Set(this.#allUpstreams().map((u) => u.spec.address))];
    const results = await Promise.all(addresses.map(async (a) => [a, await probe(a)] as const));
    return Object.fromEntries(results);
  }

  #noteRoutes(sample: NetworkSample, previous: NetworkSample): void {
    this.#setReachable(sample.routes);
    for (const [address, ok] of Object.entries(sample.routes)) {
      if (previous.routes[address] === ok) continue;
      this.#shared.logger.info(
        ok ? 'route to upstream is back' : 'no route to upstream: skipped until one appears',
        {
          address,
        },
      );
    }
  }

  /**
   * Everything a new network invalidates: pooled connections (dead sockets after sleep, or bound to an
   * address the machine no longer has), backoff and health (failures on the old network say nothing about
   * this one), route reachability and the OS's per-link domains. Then one connection per public upstream
   * is opened ahead of the next query, and listeners (the cache) hear about it.
   */
  async networkChanged(reason: NetworkChangeReason, sleptMs?: number): Promise<void> {
    this.#changes++;
    if (reason === 'wake') this.#wakes++;
    const event: NetworkChangeEvent = {
      reason,
      at: Date.now(),
      ...(sleptMs === undefined ? {} : { sleptMs }),
    };
    this.#last = event;
    this.#shared.logger.info('network changed: reconnecting upstreams', {
      reason,
      ...(sleptMs === undefined ? {} : { slept_s: Math.round(sleptMs / 1000) }),
    });
    for (const upstream of this.#allUpstreams()) upstream.resetConnections?.();
    this.#resolver?.resetHealth();
    this.events.emit('network-change', event);
    if (reason !== 'network') this.#setReachable(await this.#probeRoutes());
    if (this.#options.followSystemDomains === true) await this.refreshSystemDomains();
    this.warmUpstreams();
    this.portal.networkChanged();
  }

  /**
   * Opens a connection to each reachable public upstream (unless `reprobe` is off), at start and after a
   * change, so that the next query does not wait for a handshake. Measured against a loopback unbound: the
   * first answer after start went from 68 ms to 11 ms. Besides the handshake, a server with Nagle's algorithm
   * on (unbound) holds the first answer of a fresh TLS 1.3 connection behind its session tickets until our
   * delayed ACK, 40 ms on Linux; on a warm connection the tickets are long acknowledged.
   */
  warmUpstreams(): void {
    if (this.#options.reprobe === false) return;
    for (const upstream of this.#public) {
      if (upstream.warm === undefined || !this.reachable(upstream)) continue;
      upstream.warm(AbortSignal.timeout(REPROBE_TIMEOUT_MS)).catch((err: unknown) => {
        this.#shared.logger.debug('could not open a connection ahead of queries', {
          upstream: upstream.id,
          cause: describeCause(err),
        });
      });
    }
  }

  #systemLinks(): Promise<SystemLink[]> {
    return (this.#options.systemLinks ?? readSystemLinks)();
  }

  /** Re-reads the OS's per-link domains; configured rules keep priority for the same suffix. */
  async refreshSystemDomains(): Promise<void> {
    let links: SystemLink[];
    try {
      links = await this.#systemLinks();
      this.#systemError = undefined;
    } catch (err) {
      this.#systemError = describeCause(err);
      this.#shared.logger.rateLimited(
        'warn',
        'system-domains',
        600_000,
        'cannot read per-link DNS domains (followSystemDomains)',
        {
          cause: this.#systemError,
        },
      );
      return;
    }
    const { rules, ignored } = systemRules(links);
    this.#ignoredDomains = ignored;
    const systemSplit = systemSplitRules(rules, this.#systemUpstreams);
    const dropped = this.#systemUpstreams.retain(new Set(rules.flatMap((r) => r.servers)));
    this.#resolver?.forget(dropped);
    this.#routes = new SplitRoutes([...systemSplit, ...this.#configRules]);
  }

  /** A plain object for `dotstub status` and the `network.status` control method. */
  status(): DesktopStatus {
    return {
      network: {
        changes: this.#changes,
        wakes: this.#wakes,
        ...(this.#last === undefined
          ? {}
          : {
              last: {
                reason: this.#last.reason,
                at: new Date(this.#last.at).toISOString(),
                ...(this.#last.sleptMs === undefined ? {} : { sleptMs: Math.round(this.#last.sleptMs) }),
              },
            }),
        unreachable: [...this.#reachable].filter(([, ok]) => !ok).map(([a]) => a),
      },
      split: this.#routes.rules.map((r) => ({
        suffixes: [...r.suffixes],
        servers: r.upstreams.map((u) => u.id),
        clear: r.clear,
        source: r.source,
      })),
      systemDomains: {
        enabled: this.#options.followSystemDomains === true,
        ignored: this.#ignoredDomains,
        ...(this.#systemError === undefined ? {} : { error: this.#systemError }),
      },
      portal: this.portal.status(),
    };
  }

  async close(): Promise<void> {
    this.stopWatching();
    await Promise.all(
      [...this.#configRules.flatMap((r) => r.upstreams), ...this.#systemUpstreams.all()].map((u) =>
        u.close(),
      ),
    );
    await this.portal.close();
  }

  destroy(): void {
    this.stopWatching();
    for (const u of [...this.#configRules.flatMap((r) => r.upstreams), ...this.#systemUpstreams.all()])
      u.destroy();
    void this.portal.close();
  }

  stopWatching(): void {
    this.wake.stop();
    this.watcher.stop();
    this.portal.stopTimers();
  }
}

export interface DesktopStatus {
  readonly network: {
    readonly changes: number;
    readonly wakes: number;
    readonly last?: { readonly reason: NetworkChangeReason; readonly at: string; readonly sleptMs?: number };
    /** Upstream addresses the machine has no route to right now (skipped, not failed). */
    readonly unreachable: readonly string[];
  };
  readonly split: readonly {
    readonly suffixes: readonly string[];
    readonly servers: readonly string[];
    readonly clear: boolean;
    readonly source: 'config' | 'system';
  }[];
  readonly systemDomains: {
    readonly enabled: boolean;
    readonly ignored: readonly string[];
    readonly error?: string;
  };
  readonly portal: ReturnType<PortalController['status']>;
}
