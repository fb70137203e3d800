// The dotstub daemon under test, run as a child process exactly as a user would run it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, withFreePort } from './peers.js';
import { ManagedProcess, type ProcessExit } from './processes.js';
import { AUTH_NAME, type UnboundServer } from './unbound.js';

/** The compiled CLI, relative to this file's compiled location (dist/test/interop/). */
export const CLI_PATH = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

const READY_LINE = /msg=ready\b/;
const READY_TIMEOUT_MS = 10_000;

export interface DotstubOptions {
  /** Append `~dot.test` to the upstream address (authenticate the name as well as the pin). @default true */
  readonly authName?: boolean;
  /** SPKI pin passed with -K. @default the unbound leaf's pin */
  readonly pin?: string;
  /** Pass `--ca-file` with the test CA. @default true */
  readonly caFile?: boolean;
  /**
   * getdns_query's `@PORT`: the clear DNS port of the Opportunistic fallback (`127.0.0.1@PORT#TLSPORT`).
   * @default none (dotstub's default, 53)
   */
  readonly clearPort?: number;
  readonly extraArgs?: readonly string[];
}

export interface DotstubDaemon {
  /** UDP and TCP port the daemon listens on, on 127.0.0.1. */
  readonly port: number;
  readonly args: readonly string[];
  readonly process: ManagedProcess;
  /** SIGTERM by PID (SIGKILL after 10 s); idempotent. */
  stop(): Promise<ProcessExit>;
}

/** The `dotstub run …` arguments for one listen port and one unbound upstream. */
export function dotstubArgs(port: number, upstream: UnboundServer, options: DotstubOptions = {}): string[] {
  const clear = options.clearPort === undefined ? '' : `@${options.clearPort}`;
  const address = `127.0.0.1${clear}#${upstream.port}${options.authName === false ? '' : `~${AUTH_NAME}`}`;
  return [
    'run',
    ...['--listen', `127.0.0.1@${port}`],
    ...['--upstream', address],
    ...['-K', `pin-sha256="${options.pin ?? upstream.pin}"`],
    ...(options.caFile === false ? [] : ['--ca-file', upstream.caFile]),
    ...['--log-level', 'debug'],
    ...(options.extraArgs ?? []),
  ];
}

/**
 * Starts `node dist/src/cli/main.js run …` on a free port and waits (10 s at most) for its `msg=ready` line.
 * The daemon gets a private HOME and XDG_CONFIG_HOME so no user configuration leaks in. A start that loses the
 * free-port race (EADDRINUSE) is retried on a new port (withFreePort).
 */
export async function startDotstub(
  upstream: UnboundServer,
  options: DotstubOptions = {},
): Promise<DotstubDaemon> {
  if (!existsSync(CLI_PATH))
    throw new Error(`dotstub CLI not built: ${CLI_PATH} is missing (run npm run build)`);
  const home = makeTempDir('dotstub-home');
  const env = { ...process.env, HOME: home.dir, XDG_CONFIG_HOME: join(home.dir, 'config'), NO_COLOR: '1' };
  try {
    return await withFreePort(async (port) => {
      const args = dotstubArgs(port, upstream, options);
      const proc = await ManagedProcess.start('dotstub', process.execPath, [CLI_PATH, ...args], {
        env,
        cwd: home.dir,
      });
      try {
        await proc.waitForLine(READY_LINE, READY_TIMEOUT_MS);
      } catch (err) {
        await proc.stop(10_000);
        throw err;
      }
      const stop = async (): Promise<ProcessExit> => {
        try {
          return await proc.stop(10_000);
        } finally {
          home.remove();
        }
      };
      return { port, args, process: proc, stop };
    });
  } catch (err) {
    home.remove();
    throw err;
  }
}
