// Runs the built `dotstub` CLI as a child process and collects what it printed and its exit status.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI_PATH = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
/** The bundle the package's `dotstub` bin runs (scripts/bundle.mjs): the same code in a few files. */
export const BUNDLE_PATH = fileURLToPath(new URL('../../src/cli/dotstub.mjs', import.meta.url));

export interface CliRun {
  /** The exit status; null when a signal (or the timeout) ended it. */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runCli(
  args: readonly string[],
  options: { timeoutMs?: number; cli?: string } = {},
): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [options.cli ?? CLI_PATH, ...args],
      { timeout: options.timeoutMs ?? 20_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stdout, stderr });
      },
    );
  });
}
