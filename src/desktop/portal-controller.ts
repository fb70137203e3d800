/**
 * Portal mode's moving parts: which servers the network offers (config `portal.servers`, else the
 * per-link servers systemd-resolved or NetworkManager got from DHCP, else /etc/resolv.conf unless it
 * points at a loopback resolver, which is dotstub itself), the window (portal-mode.ts), the recheck that
 * ends it early once the probe page loads as it should, and the optional automatic detection, which only
 * tells the user and never opens a window by itself.
 */
import { readFile } from 'node:fs/promises';
import { PortalError } from '../errors.js';
import { createClearUpstream, type SharedUpstreamOptions } from '../upstream/create-upstream.js';
import type { Upstream, UpstreamSpec } from '../upstream/upstream.js';
import type { Clock, Timer } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { DEFAULT_PROBE_EXPECT, DEFAULT_PROBE_URL, probePortal, type ProbeResult } from './portal-probe.js';
import { PortalMode, type PortalState } from './portal-mode.js';
import { networkServers, parseResolvConf, type SystemLink } from './system-domains.js';

export interface PortalConfig {
  /** Clear DNS servers for portal mode. @default the network's own (see above) */
  readonly servers?: readonly UpstreamSpec[] | undefined;
  /** @default http://detectportal.firefox.com/success.txt */
  readonly probeUrl?: string | undefined;
  /** Text the probe page holds when no portal is in the way. @default 'success' */
  readonly probeExpect?: string | undefined;
  /** Probe at start, after each network change and every `detectIntervalMs`, and say so. @default false */
  readonly detect?: boolean | undefined;
  /** @default 300000 */
  readonly detectIntervalMs?: number | undefined;
  /** During a window, probe this often and end it when the way out is open. @default 15000 */
  readonly recheckMs?: number | undefined;
  /** @default /etc/resolv.conf */
  readonly resolvConf?: string | undefined;
}

export interface PortalControllerOptions {
  readonly config: PortalConfig;
  readonly shared: SharedUpstreamOptions;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly systemLinks: () => Promise<SystemLink[]>;
}

export interface PortalStatus extends PortalState {
  readonly detection?: {
    readonly url: string;
    readonly result: ProbeResult;
    readonly checkedAt: string;
  };
}

export class PortalController {
  readonly #options: PortalControllerOptions;
  readonly #mode: PortalMode;
  #recheck: Timer | undefined;
  #detectTimer: Timer | undefined;
  #detection: PortalStatus['detection'];

  constructor(options: PortalControllerOptions) {
    this.#options = options;
    this.#mode = new PortalMode(options.clock, options.logger, (window) => {
      this.#recheck?.clear();
      this.#recheck = undefined;
      for (const u of window.upstreams) void u.close();
    });
  }

  get #url(): string {
    return this.#options.config.probeUrl ?? DEFAULT_PROBE_URL;
  }

  start(): void {
    if (this.#options.config.detect !== true) return;
    void this.detect();
    const every = this.#options.config.detectIntervalMs ?? 300_000;
    this.#detectTimer = this.#options.clock.setTimeout(() => {
      void this.detect();
      this.#detectTimer?.refresh(every);
    }, every);
  }

  upstreams(): readonly Upstream[] | undefined {
    return this.#mode.upstreams();
  }

  async #servers(): Promise<UpstreamSpec[]> {
    const configured = this.#options.config.servers;
    if (configured !== undefined && configured.length > 0) return [...configured];
    let found: string[] = [];
    try {
      found = networkServers(await this.#options.systemLinks());
    } catch {
      // Neither resolved nor NetworkManager: try resolv.conf.
    }
    if (found.length === 0) {
      const text = await readFile(this.#options.config.resolvConf ?? '/etc/resolv.conf', 'utf8').catch(
        () => '',
      );
      found = parseResolvConf(text);
    }
    return found.map((address) => ({ address, port: 53, pins: [] }));
  }

  /** Opens (or extends) the window; rejects when no network resolver is known. */
  async begin(forMs: number): Promise<PortalStatus> {
    const specs = await this.#servers();
    if (specs.length === 0)
      throw new PortalError(
        'no DNS server of this network is known: set "portal": {"servers": ["192.168.1.1"]} in the config to the address your network hands out by DHCP',
      );
    const current = this.#mode.upstreams();
    const upstreams =
      current ?? specs.map((spec) => createClearUpstream(spec, this.#options.shared, 'clear'));
    this.#mode.start(forMs, upstreams);
    const every = this.#options.config.recheckMs ?? 15_000;
    this.#recheck?.clear();
    this.#recheck = this.#options.clock.setTimeout(() => {
      void this.#checkOpen().then(() => this.#recheck?.refresh(every));
    }, every);
    return this.status();
  }

  end(reason: string): PortalStatus {
    this.#mode.stop(reason);
    return this.status();
  }

  /** One recheck during the window: the probe page loads as it should, so the portal is gone. */
  async #checkOpen(): Promise<void> {
    const servers = this.#mode.upstreams()?.map((u) => u.spec.address);
    if (servers === undefined) return;
    if ((await this.#probe(servers)) === 'open') this.#mode.stop('portal gone');
  }

  async #probe(servers: readonly string[] | undefined): Promise<ProbeResult> {
    const result = await probePortal({
      url: this.#url,
      expect: this.#options.config.probeExpect ?? DEFAULT_PROBE_EXPECT,
      ...(servers === undefined ? {} : { servers }),
    });
    this.#detection = { url: this.#url, result, checkedAt: new Date().toISOString() };
    return result;
  }

  /** Automatic detection: reports a portal, never downgrades. */
  async detect(): Promise<ProbeResult> {
    const servers = (await this.#servers().catch(() => [])).map((s) => s.address);
    const result = await this.#probe(servers);
    if (result === 'portal' && this.#mode.upstreams() === undefined)
      this.#options.logger.warn(
        'a captive portal seems to be in the way: run `dotstub portal` to log in (names then go in clear for 5 minutes)',
        {
          probe: this.#url,
        },
      );
    return result;
  }

  networkChanged(): void {
    if (this.#options.config.detect === true) void this.detect();
  }

  status(): PortalStatus {
    return {
      ...this.#mode.state(),
      ...(this.#detection === undefined ? {} : { detection: this.#detection }),
    };
  }

  stopTimers(): void {
    this.#detectTimer?.clear();
    this.#recheck?.clear();
  }

  async close(): Promise<void> {
    this.stopTimers();
    this.#mode.stop('daemon stopped');
    await Promise.resolve();
  }
}
