/**
 * Notices network changes by polling: the machine's interface addresses (os.networkInterfaces(), one
 * getifaddrs call) plus whether the upstreams' addresses are routable (route-probe.ts), every few seconds,
 * diffed against the last sample. Polling was chosen over netlink (`ip monitor` in a child process) and the
 * OS notification APIs because it is the same few lines on Linux, macOS and Windows, needs no child process
 * or native module, and also sees a route that disappears while every address stays (a VPN going down).
 * A change is reported once the picture has held still for `debounceMs`: Wi-Fi roaming and DHCP produce
 * bursts of changes, and one reset per burst is enough.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { systemClock, type Clock, type Timer } from '../util/clock.js';

export interface NetworkSample {
  /** Sorted `iface family address/prefix` lines of every non-loopback address. */
  readonly addresses: readonly string[];
  /** Upstream address -> routable now. */
  readonly routes: Readonly<Record<string, boolean>>;
}

export interface NetworkWatcherOptions {
  /** Called with the new picture after a change has settled. */
  readonly onChange: (sample: NetworkSample, previous: NetworkSample) => void;
  /** Route reachability of the addresses that matter (the upstreams'). @default none */
  readonly probeRoutes?: () => Promise<Record<string, boolean>>;
  /** @default os.networkInterfaces */
  readonly interfaces?: () => NodeJS.Dict<NetworkInterfaceInfo[]>;
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default 3000 */
  readonly intervalMs?: number;
  /** @default 1500 */
  readonly debounceMs?: number;
}

export function addressLines(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>): string[] {
  const lines: string[] = [];
  for (const [name, infos] of Object.entries(interfaces)) {
    for (const info of infos ?? []) {
      if (!info.internal) lines.push(`${name} ${info.family} ${info.cidr ?? info.address}`);
    }
  }
  return lines.sort();
}

/**
 * Routes in code-unit order (the same every time is all a fingerprint needs). Not localeCompare: its ICU
 * collator paged in 2.3 MiB of Node's binary (collation code and data) at the first sample, resident for
 * the daemon's life: on its embedded defaults, ICU's resident pages 3.75 -> 1.44 MiB and RSS 57.2-58.6
 * -> 54.5-55.8 MiB after 7 s (/proc/PID/pagemap against the binary's symbols, alternating builds).
 */
const byKey = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);

const fingerprint = (s: NetworkSample): string =>
  JSON.stringify([s.addresses, Object.entries(s.routes).sort(byKey)]);

export class NetworkWatcher {
  readonly #options: NetworkWatcherOptions;
  #reported: NetworkSample | undefined;
  /** A different picture first seen at `since`, waiting to hold still. */
  #pending: { sample: NetworkSample; since: number } | undefined;
  #timer: Timer | undefined;
  #sampling = false;

  constructor(options: NetworkWatcherOptions) {
    this.#options = options;
  }

  get current(): NetworkSample | undefined {
    return this.#reported;
  }

  /** Takes the first sample (the baseline, not a change), then polls. */
  async start(): Promise<void> {
    this.#reported = await this.sample();
    const clock = this.#options.clock ?? systemClock;
    this.#timer = clock.setTimeout(() => {
      void this.poll().finally(() => {
        const next = this.#pending === undefined ? this.#interval() : this.#debounce();
        this.#timer?.refresh(Math.min(next, this.#interval()));
      });
    }, this.#interval());
  }

  stop(): void {
    this.#timer?.clear();
    this.#timer = undefined;
  }

  async sample(): Promise<NetworkSample> {
    const addresses = addressLines((this.#options.interfaces ?? networkInterfaces)());
    const routes = (await this.#options.probeRoutes?.()) ?? {};
    return { addresses, routes };
  }

  /** One poll; returns true when it reported a change. Public so tests can drive it with a manual clock. */
  async poll(): Promise<boolean> {
    if (this.#sampling) return false;
    this.#sampling = true;
    try {
      return this.#consider(await this.sample());
    } finally {
      this.#sampling = false;
    }
  }

  #consider(sample: NetworkSample): boolean {
    const now = (this.#options.clock ?? systemClock).now();
    const previous = this.#reported;
    if (previous === undefined || fingerprint(sample) === fingerprint(previous)) {
      this.#pending = undefined;
      if (previous === undefined) this.#reported = sample;
      return false;
    }
    if (this.#pending === undefined || fingerprint(this.#pending.sample) !== fingerprint(sample)) {
      this.#pending = { sample, since: now };
      if (this.#debounce() > 0) return false;
    } else if (now - this.#pending.since < this.#debounce()) return false;
    this.#pending = undefined;
    this.#reported = sample;
    this.#options.onChange(sample, previous);
    return true;
  }

  #interval(): number {
    return this.#options.intervalMs ?? 3000;
  }

  #debounce(): number {
    return this.#options.debounceMs ?? 1500;
  }
}
