// Child processes for the interop suite: every peer and daemon is started here, its output captured, and
// stopped by its PID (SIGTERM, then SIGKILL after a bounded wait). A last-resort exit hook kills whatever a
// failing test left behind, so no unbound or dotstub outlives the test file.
import { spawn, type ChildProcess } from 'node:child_process';

export interface ProcessExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** Keeps at most `cap` characters of a stream: the head (startup lines) and the newest tail. */
class OutputBuffer {
  #head = '';
  #tail = '';
  #dropped = 0;
  readonly #cap: number;

  constructor(cap: number) {
    this.#cap = cap;
  }

  append(chunk: string): void {
    if (this.#head.length < this.#cap / 4) {
      const room = this.#cap / 4 - this.#head.length;
      this.#head += chunk.slice(0, room);
      chunk = chunk.slice(room);
    }
    this.#tail += chunk;
    const excess = this.#tail.length - (this.#cap * 3) / 4;
    if (excess > 0) {
      this.#tail = this.#tail.slice(excess);
      this.#dropped += excess;
    }
  }

  text(): string {
    return this.#dropped === 0
      ? this.#head + this.#tail
      : `${this.#head}\n[… ${this.#dropped} chars dropped …]\n${this.#tail}`;
  }
}

interface LineWaiter {
  readonly pattern: RegExp;
  readonly resolve: (line: string) => void;
}

const live = new Set<ManagedProcess>();
const exitCleanups = new Set<() => void>();

/**
 * Runs `cleanup` (synchronously) if this process exits or is interrupted before the returned function is
 * called: for one-shot tools and temp dirs that a test interrupted half-way would otherwise leave behind.
 */
export function onAbnormalExit(cleanup: () => void): () => void {
  exitCleanups.add(cleanup);
  return () => {
    exitCleanups.delete(cleanup);
  };
}

/** SIGKILLs a one-shot child by PID if we exit before it does. */
export function killOnExit(child: ChildProcess): void {
  const unregister = onAbnormalExit(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  child.once('exit', unregister);
}

function cleanUpNow(): void {
  for (const p of live) p.killNow();
  for (const cleanup of exitCleanups) {
    try {
      cleanup();
    } catch {
      // best effort: we are exiting
    }
  }
}
process.once('exit', cleanUpNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    cleanUpNow();
    process.kill(process.pid, signal);
  });
}

export interface StartOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Characters of stdout and of stderr kept for assertions and diagnostics. @default 4_000_000 */
  readonly outputCap?: number;
}

export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  /** Resolves when the process has exited (never rejects). */
  readonly exited: Promise<ProcessExit>;
  #exit: ProcessExit | undefined;
  readonly #stdout: OutputBuffer;
  readonly #stderr: OutputBuffer;
  readonly #partial = { stdout: '', stderr: '' };
  readonly #waiters = new Set<LineWaiter>();

  private constructor(name: string, child: ChildProcess, pid: number, cap: number) {
    this.name = name;
    this.pid = pid;
    this.#stdout = new OutputBuffer(cap);
    this.#stderr = new OutputBuffer(cap);
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stdout.append(chunk);
      this.#scanLines('stdout', chunk);
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.#stderr.append(chunk);
      this.#scanLines('stderr', chunk);
    });
    this.exited = new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const settle = (): void => {
        clearTimeout(timer);
        if (this.#exit) resolve(this.#exit);
      };
      child.once('exit', (code, signal) => {
        // Reaped: from here on the PID may be reused, so #signal() no longer touches it.
        this.#exit = { code, signal };
        live.delete(this);
        // Resolve once stdout and stderr are drained ('close'), or 2 s later if a grandchild holds the pipes.
        timer = setTimeout(settle, 2000);
      });
      child.once('close', settle);
    });
    live.add(this);
  }

  /** Spawns `bin args`; throws when the binary cannot be started. */
  static async start(
    name: string,
    bin: string,
    args: readonly string[],
    options: StartOptions = {},
  ): Promise<ManagedProcess> {
    const child = spawn(bin, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    if (child.pid === undefined) {
      const err = await new Promise<Error>((resolve) => child.once('error', resolve));
      throw new Error(`${name}: cannot start ${bin}: ${err.message}`, { cause: err });
    }
    return new ManagedProcess(name, child, child.pid, options.outputCap ?? 4_000_000);
  }

  get exitStatus(): ProcessExit | undefined {
    return this.#exit;
  }

  stdout(): string {
    return this.#stdout.text();
  }

  stderr(): string {
    return this.#stderr.text();
  }

  /** The last `lines` lines of stderr and stdout, for assertion messages. */
  tail(lines = 40): string {
    const pick = (text: string): string => text.split('\n').slice(-lines).join('\n');
    const exit = this.#exit
      ? ` (exited code=${String(this.#exit.code)} signal=${String(this.#exit.signal)})`
      : '';
    return `--- ${this.name} pid ${this.pid}${exit} stderr tail ---\n${pick(this.stderr())}\n--- stdout tail ---\n${pick(this.stdout())}`;
  }

  /** Resolves with the first output line matching `pattern`; rejects on exit or after `timeoutMs`. */
  async waitForLine(pattern: RegExp, timeoutMs: number): Promise<string> {
    const already = (this.stderr() + '\n' + this.stdout()).split('\n').find((l) => pattern.test(l));
    if (already !== undefined) return already;
    let waiter: LineWaiter | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        new Promise<string>((resolve) => {
          waiter = { pattern, resolve };
          this.#waiters.add(waiter);
        }),
        this.exited.then((exit) => {
          throw new Error(
            `${this.name} exited (code ${String(exit.code)}, signal ${String(exit.signal)}) before printing ${String(pattern)}\n${this.tail()}`,
          );
        }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            reject(
              new Error(
                `${this.name}: no line matching ${String(pattern)} within ${timeoutMs} ms\n${this.tail()}`,
              ),
            );
          }, timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (waiter) this.#waiters.delete(waiter);
    }
  }

  /** SIGTERM by PID, then SIGKILL if it has not exited after `graceMs`. Idempotent. */
  async stop(graceMs = 5000): Promise<ProcessExit> {
    if (this.#exit) return this.#exit;
    this.#signal('SIGTERM');
    const graceful = await this.#waitExit(graceMs);
    if (graceful) return graceful;
    this.#signal('SIGKILL');
    const killed = await this.#waitExit(5000);
    if (killed) return killed;
    throw new Error(`${this.name} (pid ${this.pid}) survived SIGKILL for 5 s`);
  }

  /** Synchronous SIGKILL for exit hooks. */
  killNow(): void {
    this.#signal('SIGKILL');
  }

  #signal(signal: NodeJS.Signals): void {
    // Only signal a child we have not reaped: once 'exit' fired its PID may belong to someone else.
    if (this.#exit) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      // ESRCH: it exited between the check and the kill.
    }
  }

  async #waitExit(ms: number): Promise<ProcessExit | undefined> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => {
        resolve(undefined);
      }, ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #scanLines(stream: 'stdout' | 'stderr', chunk: string): void {
    const lines = (this.#partial[stream] + chunk).split('\n');
    this.#partial[stream] = lines.pop() ?? '';
    for (const line of lines) {
      for (const waiter of this.#waiters) {
        if (waiter.pattern.test(line)) waiter.resolve(line);
      }
    }
  }
}
