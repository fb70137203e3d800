/**
 * Carries out a plan. File paths are taken under `root` ('/' for real; a scratch directory in tests), and
 * commands go to an injectable runner, so every platform's plan runs in tests without touching the machine.
 */
import { execFile } from 'node:child_process';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { SystemChangeError } from '../errors.js';
import type { Plan, Step } from './plan.js';
import { quoteArg } from './plan.js';

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export type CommandRunner = (argv: readonly string[]) => Promise<CommandResult>;

/** Runs a command for real; never through a shell, so arguments need no quoting. */
export const realRunner: CommandRunner = (argv) =>
  new Promise((resolve) => {
    const [file, ...args] = argv;
    if (file === undefined) {
      resolve({ code: 127, stdout: '', stderr: 'empty command' });
      return;
    }
    execFile(file, args, { encoding: 'utf8', timeout: 60_000, windowsHide: true }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 127;
      resolve({ code, stdout, stderr: err !== null && stderr === '' ? err.message : stderr });
    });
  });

export interface ExecuteOptions {
  /** Prefix for every file path. @default '/' */
  readonly root?: string;
  readonly runner: CommandRunner;
  /** Told about each step as it runs, and about failures a step was allowed. */
  readonly report?: (line: string) => void;
}

/** The path a plan's absolute path stands for under `root`. */
export function underRoot(root: string, path: string): string {
  return root === '/' ? path : join(root, path);
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes through a temporary file and a rename, so a reader never sees half a resolv.conf. A path that is a
 * mount point (Docker bind-mounts /etc/resolv.conf) cannot be renamed over (EBUSY): it is rewritten in place.
 */
function writeFile(path: string, content: string | Uint8Array, mode: number): void {
  const tmp = join(dirname(path), `.${String(process.pid)}.dotstub-tmp`);
  writeFileSync(tmp, content, { mode });
  chmodSync(tmp, mode);
  try {
    renameSync(tmp, path);
  } catch (err) {
    unlinkSync(tmp);
    if ((err as NodeJS.ErrnoException).code !== 'EBUSY') throw err;
    writeFileSync(path, content);
    chmodSync(path, mode);
  }
}

function applyFileStep(root: string, step: Exclude<Step, { kind: 'run' }>): void {
  const path = underRoot(root, step.path);
  switch (step.kind) {
    case 'write':
      writeFile(path, step.content, step.mode);
      return;
    case 'symlink':
      if (exists(path)) unlinkSync(path);
      symlinkSync(step.target, path);
      return;
    case 'remove':
      if (exists(path)) unlinkSync(path);
      return;
    case 'mkdir':
      mkdirSync(path, { recursive: true, mode: step.mode });
      return;
    case 'rmdir':
      try {
        rmdirSync(path);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Not empty, gone, or (StateDirectory= under DynamicUser) a symlink systemd made: left as it is.
        if (code !== 'ENOENT' && code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOTDIR') throw err;
      }
  }
}

/** Runs the steps in order and stops at the first failure, naming the step. */
export async function executePlan(plan: Plan, options: ExecuteOptions): Promise<void> {
  const root = options.root ?? '/';
  for (const step of plan) {
    if (step.kind !== 'run') {
      try {
        applyFileStep(root, step);
      } catch (err) {
        throw new SystemChangeError(`${step.kind} ${step.path} failed: ${(err as Error).message}`, err);
      }
      continue;
    }
    const shown = step.argv.map(quoteArg).join(' ');
    const result = await options.runner(step.argv);
    if (result.code === 0) continue;
    const why = `\`${shown}\` exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`;
    if (step.mayFail !== true) throw new SystemChangeError(why);
    options.report?.(`note: ${why}`);
  }
}
