// Starts the real daemon (listeners, resolver, TLS upstreams) in-process on 127.0.0.1 port 0, with its log
// captured, against upstreams the test starts itself.
import { startDaemon, type Daemon, type DaemonOptions } from '../../src/server/daemon.js';
import type { UpstreamSpec } from '../../src/upstream/upstream.js';
import { createLogger } from '../../src/util/logger.js';
import { caFile } from './test-certs.js';

export interface Stack {
  readonly daemon: Daemon;
  readonly port: number;
  readonly log: string[];
  close(): Promise<void>;
}

export type StackOptions = Partial<Omit<DaemonOptions, 'upstreams' | 'logger' | 'listen'>> & {
  upstreams: readonly UpstreamSpec[];
};

export function spec(
  port: number,
  auth: { pins?: string[]; authName?: string } = { authName: 'dot.test' },
  address = '127.0.0.1',
): UpstreamSpec {
  return {
    address,
    port,
    pins: auth.pins ?? [],
    ...(auth.authName === undefined ? {} : { authName: auth.authName }),
  };
}

/**
 * The options startStack() runs with unless told otherwise; a test that reloads builds its options on
 * these, so that what it does not mean to change compares equal to what is running.
 */
export function stackDefaults(): Omit<DaemonOptions, 'upstreams' | 'logger'> {
  return {
    listen: [{ host: '127.0.0.1', port: 0 }],
    caFile: caFile(),
    selection: 'ordered',
    timeoutMs: 3000,
    idleTimeoutMs: 10_000,
    connectTimeoutMs: 1000,
    paddingBlockSize: 128,
    maxOutstanding: 1000,
    maxConnectionsPerUpstream: 2,
    maxInFlightPerConnection: 100,
    backoff: { baseMs: 200, capMs: 1000, jitter: 0 },
    // The in-process server leaves Nagle on, as unbound does: with the nudge, a first query that waits
    // past the session ticket reaches it twice, and the tests here count what servers receive.
    nudgeAfterTicket: false,
  };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const log: string[] = [];
  const daemon = await startDaemon({
    ...stackDefaults(),
    ...options,
    logger: createLogger({ level: 'debug', write: (line) => log.push(line) }),
  });
  const port = daemon.addresses[0]?.port ?? 0;
  return {
    daemon,
    port,
    log,
    close: async () => {
      daemon.destroy();
      await daemon.close();
    },
  };
}
