// Interop harness: real peers from Debian packages (unbound as the DoT upstream; kdig, dig, getdns_query and
// dnsperf as clients) around the real dotstub daemon. A test file makes one InteropEnv, registers
// `after(() => env.close())`, and asks it for unbound and daemons; everything it started is stopped by PID
// in close(), whether the tests passed or not.
import type { TestContext } from 'node:test';
import { describeResult, makeTempDir, requirePeer, type PeerBinary, type ToolResult } from './peers.js';
import { startDotstub, type DotstubDaemon, type DotstubOptions } from './dotstub.js';
import {
  makeCerts,
  startUnbound,
  type TestCerts,
  type UnboundOptions,
  type UnboundServer,
} from './unbound.js';
import { startStubby } from './stubby.js';

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
  readonly #ownDaemons: Promise<DotstubDaemon>[] = [];
  readonly #ownUnbounds: Promise<UnboundServer>[] = [];
  readonly #certDirs: (() => void)[] = [];

  /** The file's unbound, started on first use; undefined after a skip (peers missing outside CI). */
  async unbound(t: TestContext): Promise<UnboundServer | undefined> {
    if (!requirePeer(t, ...UNBOUND_PEERS)) return undefined;
    this.#unbound ??= startUnbound();
    return this.#unbound;
  }

  /** A dotstub daemon in front of the file's unbound; tests of a file asking for the same options share it. */
  async dotstub(t: TestContext, options: DotstubOptions = {}): Promise<DotstubDaemon | undefined> {
    if (daemonKind === 'stubby' && !requirePeer(t, 'stubby')) return undefined;
    const upstream = await this.unbound(t);
    if (!upstream) return undefined;
    const key = JSON.stringify(options);
    let daemon = this.#daemons.get(key);
    if (!daemon) {
      daemon = daemonKind === 'stubby' ? startStubby(upstream, options) : startDotstub(upstream, options);
      this.#daemons.set(key, daemon);
    }
    return daemon;
  }

  /**
   * Certificates for dot.test in a temp dir of their own (removed in close()), for unbounds started one after
   * another that must present the same key. Undefined after a skip.
   */
  async certs(t: TestContext): Promise<TestCerts | undefined> {
    if (!requirePeer(t, 'openssl')) return undefined;
    const temp = makeTempDir('certs');
    this.#certDirs.push(temp.remove);
    return makeCerts(temp.dir);
  }

  /**
   * An unbound of its own (not the file's shared one), started with options: e.g. clear DNS only, or the
   * ports of an unbound it replaces. A test may stop it early; close() stops it otherwise.
   */
  async unboundWith(t: TestContext, options: UnboundOptions): Promise<UnboundServer | undefined> {
    if (!requirePeer(t, ...UNBOUND_PEERS)) return undefined;
    const server = startUnbound(options);
    this.#ownUnbounds.push(server);
    return server;
  }

  /**
   * A daemon of its own (not shared) in front of the given unbound, which may be replaced by another on the
   * same ports while the daemon runs. close() stops it and checks that dotstub exits 0 on SIGTERM.
   */
  async dotstubFor(
    t: TestContext,
    upstream: UnboundServer,
    options: DotstubOptions = {},
  ): Promise<DotstubDaemon | undefined> {
    if (daemonKind === 'stubby' && !requirePeer(t, 'stubby')) return undefined;
    const daemon = daemonKind === 'stubby' ? startStubby(upstream, options) : startDotstub(upstream, options);
    this.#ownDaemons.push(daemon);
    return daemon;
  }

  /**
   * Stops every daemon, then every unbound, then removes the certificate dirs. Never throws; returns the
   * problems for `after` to assert on: a stop that failed, or a dotstub that did not exit 0 on SIGTERM.
   */
  async close(): Promise<string[]> {
    const problems: string[] = [];
    const stopOne = async (p: Promise<DotstubDaemon | UnboundServer>, mustExit0: boolean): Promise<void> => {
      let child: DotstubDaemon | UnboundServer;
      try {
        child = await p;
      } catch {
        return; // a failed start already failed the test that asked for it, with the child's output
      }
      try {
        const exit = await child.stop();
        if (mustExit0 && (exit.code !== 0 || exit.signal !== null)) {
          problems.push(`dotstub did not exit 0 on SIGTERM\n${child.process.tail()}`);
        }
      } catch (err) {
        problems.push(`${child.process.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
    await Promise.all(
      [...this.#daemons.values(), ...this.#ownDaemons].map((p) => stopOne(p, daemonKind === 'dotstub')),
    );
    this.#daemons.clear();
    this.#ownDaemons.length = 0;
    if (this.#unbound) await stopOne(this.#unbound, false);
    this.#unbound = undefined;
    await Promise.all(this.#ownUnbounds.map((p) => stopOne(p, false)));
    this.#ownUnbounds.length = 0;
    for (const remove of this.#certDirs.splice(0)) remove();
    return problems;
  }
}

/** An assertion message: what ran, what it printed, and the daemon's recent log. */
export function explain(result: { tool: ToolResult } | ToolResult, daemon?: DotstubDaemon): string {
  const tool = 'tool' in result ? result.tool : result;
  return `${describeResult(tool)}${daemon ? `\n${daemon.process.tail(30)}` : ''}`;
}
