// Finding the Debian peers, running one-shot tools with bounded timeouts, free ports and temp dirs.
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';
import { killOnExit, onAbnormalExit } from './processes.js';

/** Each peer binary and the Debian package that ships it (scripts/install-peers.sh installs them all). */
export const PEER_PACKAGES = {
  unbound: 'unbound',
  'unbound-control': 'unbound',
  kdig: 'knot-dnsutils',
  dig: 'bind9-dnsutils',
  getdns_query: 'getdns-utils',
  dnsperf: 'dnsperf',
  stubby: 'stubby',
  openssl: 'openssl',
} as const;

export type PeerBinary = keyof typeof PEER_PACKAGES;

const found = new Map<PeerBinary, string | undefined>();

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The absolute path of a peer binary on PATH (plus the sbin directories), or undefined. */
export function findPeer(bin: PeerBinary): string | undefined {
  if (found.has(bin)) return found.get(bin);
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  const path = dirs
    .filter((d) => d !== '')
    .map((d) => join(d, bin))
    .find(isExecutableFile);
  found.set(bin, path);
  return path;
}

/** The absolute path of a peer binary; throws naming its package when it is missing. */
export function peerPath(bin: PeerBinary): string {
  const path = findPeer(bin);
  if (path === undefined) throw new Error(missingMessage(bin));
  return path;
}

function missingMessage(bin: PeerBinary): string {
  return `interop peer "${bin}" not found on PATH or in /usr/sbin: install the Debian package "${PEER_PACKAGES[bin]}" (bash scripts/install-peers.sh)`;
}

export const inCI = process.env.CI === 'true';

/**
 * Checks that every named peer is installed. When one is missing, the test fails under CI=true (a missing peer
 * in CI is a broken CI machine, never a reason to pass) and is skipped elsewhere. Returns false after a skip:
 * the caller must return at once.
 */
export function requirePeer(t: TestContext, ...bins: PeerBinary[]): boolean {
  const missing = bins.filter((b) => findPeer(b) === undefined);
  if (missing.length === 0) return true;
  const message = missing.map(missingMessage).join('; ');
  if (inCI) throw new Error(message);
  t.skip(message);
  return false;
}

export interface ToolResult {
  readonly command: string;
  /** Exit code; null when the tool was killed (see timedOut). */
  readonly code: number | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  readonly elapsedMs: number;
}

/**
 * Runs a peer tool to completion. Never rejects for a non-zero exit; the result carries the code.
 * `closeStdin` gives the tool an empty standard input: openssl s_client otherwise keeps the connection
 * open, reading stdin, until the server's idle timeout closes it (10 s a call against dotstub's listener).
 */
export async function runTool(
  bin: PeerBinary,
  args: readonly string[],
  timeoutMs: number,
  options: { readonly closeStdin?: boolean } = {},
): Promise<ToolResult> {
  const path = peerPath(bin);
  const command = [bin, ...args].join(' ');
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = execFile(
      path,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const elapsedMs = performance.now() - started;
        if (err && typeof err.code === 'string') {
          reject(new Error(`${command}: ${err.message}`, { cause: err }));
          return;
        }
        const timedOut = err?.killed === true;
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ command, code: timedOut ? null : code, timedOut, stdout, stderr, elapsedMs });
      },
    );
    if (options.closeStdin === true) child.stdin?.end();
    killOnExit(child);
  });
}

/** Formats a tool result for an assertion message. */
export function describeResult(r: ToolResult): string {
  const how = r.timedOut ? 'timed out' : `exit ${String(r.code)}`;
  return `$ ${r.command}\n(${how} after ${Math.round(r.elapsedMs)} ms)\n${r.stdout}${r.stderr === '' ? '' : `\nstderr: ${r.stderr}`}`;
}

/** Binds 127.0.0.1:port over UDP and releases it; resolves with the bound port, or undefined if taken. */
async function tryUdp(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = createSocket('udp4');
    sock.once('error', () => {
      sock.close();
      resolve(undefined);
    });
    sock.bind(port, '127.0.0.1', () => {
      const bound = sock.address().port;
      sock.close(() => {
        resolve(bound);
      });
    });
  });
}

/** Same as tryUdp, over TCP. */
async function tryTcp(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => {
      resolve(undefined);
    });
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        resolve(typeof address === 'object' && address !== null ? address.port : undefined);
      });
    });
  });
}

/**
 * A loopback port that was free for both UDP and TCP a moment ago (the daemon listens on both with one port
 * number). Another process may take it before our child binds it; callers retry a start that fails with
 * EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await tryUdp(0);
    if (port !== undefined && (await tryTcp(port)) === port) return port;
  }
  throw new Error('no loopback port free for both UDP and TCP after 50 attempts');
}

const PORT_CLASH = /EADDRINUSE|address already in use|can't bind/i;

/**
 * Runs `start(port)` on a free port; when it fails because another process took the port first (its error
 * message, which carries the child's stderr, says so), tries again on a new port, three attempts at most.
 * `start` must stop its own child before throwing.
 */
export async function withFreePort<T>(start: (port: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(await freePort());
    } catch (err) {
      if (attempt >= 3 || !(err instanceof Error) || !PORT_CLASH.test(err.message)) throw err;
    }
  }
}

/** A fresh private directory under the OS temp dir; removed by the returned function, or at exit. */
export function makeTempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `dotstub-interop-${prefix}-`));
  const remove = (): void => {
    unregister();
    if (process.env.DOTSTUB_INTEROP_KEEP === '1') return;
    rmSync(dir, { recursive: true, force: true });
  };
  const unregister = onAbnormalExit(remove);
  return { dir, remove };
}

export async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}
