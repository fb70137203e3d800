// Interop harness: real peers from Debian packages (unbound as the DoT upstream; kdig, dig, getdns_query and
// dnsperf as clients) around the real dotstub daemon. A test file makes one InteropEnv, registers
// `after(() => env.close())`, and asks it for unbound and daemons; everything it started is stopped by PID
// in close(), whether the tests passed or not.
import type { TestContext } from 'node:test';
import { describeResult, requirePeer, type PeerBinary, type ToolResult } from './peers.js';
import { startDotstub, type DotstubDaemon, type DotstubOptions } from './dotstub.js';
import { startUnbound, type UnboundServer } from './unbound.js';
import { startStubby } from './stubby.js';
import type { ProcessExit } from './processes.js';

export * from './peers.js';
export * from './processes.js';
export * from './unbound.js';
export * from './dotstub.js';
export * from './clients.js';
export * from './zone.js';
export * from './stubby.js';

/** `INTEROP_DAEMON=stubby` puts stubby where dotstub would be (a differential run); the default is dotstub. */
export const daemonKind = process.env.INTEROP_DAEMON === 'stubby' ? 'stubby' : 'dotstub';

const UNBOUND_PEERS: readonly PeerBinary[] = ['unbound', 'unbound-control', 'openssl'];

export class InteropEnv {
  #unbound: Promise<UnboundServer> | undefined;
  readonly #daemons = new Map<string, Promise<DotstubDaemon>>();
  #fresh = 0;

  /** The file's unbound, started on first use; undefined after a skip (peers missing outside CI). */
  async unbound(t: TestContext): Promise<UnboundServer | undefined> {
    if (!requirePeer(t, ...UNBOUND_PEERS)) return undefined;
    this.#unbound ??= startUnbound();
    return this.#unbound;
  }

  /**
   * A dotstub daemon in front of the file's unbound. Daemons with the same options are shared between the
   * tests of a file; `fresh: true` always starts a new one.
   */
  async dotstub(
    t: TestContext,
    options: DotstubOptions = {},
    fresh = false,
  ): Promise<DotstubDaemon | undefined> {
    if (daemonKind === 'stubby' && !requirePeer(t, 'stubby')) return undefined;
    const upstream = await this.unbound(t);
    if (!upstream) return undefined;
    const key = fresh ? `fresh-${this.#fresh++}` : JSON.stringify(options);
    let daemon = this.#daemons.get(key);
    if (!daemon) {
      daemon = daemonKind === 'stubby' ? startStubby(upstream, options) : startDotstub(upstream, options);
      this.#daemons.set(key, daemon);
    }
    return daemon;
  }

  /** Stops every daemon, then unbound. Never throws: stop failures are returned, for `after` to assert on. */
  async close(): Promise<string[]> {
    const problems: string[] = [];
    const stopOne = async (what: string, p: Promise<{ stop(): Promise<ProcessExit> }>): Promise<void> => {
      let started: { stop(): Promise<ProcessExit> };
      try {
        started = await p;
      } catch {
        return; // a failed start already failed the test that asked for it, with the child's output
      }
      try {
        await started.stop();
      } catch (err) {
        problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    await Promise.all([...this.#daemons.entries()].map(([key, p]) => stopOne(`dotstub ${key}`, p)));
    this.#daemons.clear();
    if (this.#unbound) await stopOne('unbound', this.#unbound);
    this.#unbound = undefined;
    return problems;
  }
}

/** An assertion message: what ran, what it printed, and the daemon's recent log. */
export function explain(result: { tool: ToolResult } | ToolResult, daemon?: DotstubDaemon): string {
  const tool = 'tool' in result ? result.tool : result;
  return `${describeResult(tool)}${daemon ? `\n${daemon.process.tail(30)}` : ''}`;
}
