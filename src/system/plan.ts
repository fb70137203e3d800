/**
 * Changes to the machine as data: a plan is a list of file writes with their exact contents and of commands
 * with their exact argv, computed by pure functions per platform. One executor carries plans out, and
 * `--dry-run` prints them, so what a test checks is exactly what would run.
 */
import { Buffer } from 'node:buffer';

export type Step =
  /** Creates or replaces a regular file (a symlink at the path is replaced, not followed). */
  | {
      readonly kind: 'write';
      readonly path: string;
      readonly content: string | Uint8Array;
      readonly mode: number;
    }
  | { readonly kind: 'symlink'; readonly path: string; readonly target: string }
  /** Removes a file or symlink; nothing happens when it is already gone. */
  | { readonly kind: 'remove'; readonly path: string }
  | { readonly kind: 'mkdir'; readonly path: string; readonly mode: number }
  /** Removes a directory only when it is empty: what else someone put there stays. */
  | { readonly kind: 'rmdir'; readonly path: string }
  /** `mayFail`: the failure is expected in some states (stopping what is not running) and is reported, not raised. */
  | { readonly kind: 'run'; readonly argv: readonly string[]; readonly mayFail?: boolean };

export type Plan = readonly Step[];

const SAFE_ARG = /^[\w@%+=:,./\\-]+$/;

/** An argv element as a POSIX shell would need it: printed commands can be pasted. */
export function quoteArg(arg: string): string {
  return SAFE_ARG.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8)}`;

function describeContent(content: string | Uint8Array): string {
  const text = typeof content === 'string' ? content : Buffer.from(content).toString('utf8');
  const printable = typeof content === 'string' || Buffer.from(text, 'utf8').equals(content);
  if (!printable) return `    (${content.length} bytes of binary content)\n`;
  const lines = text.endsWith('\n') ? text.slice(0, -1).split('\n') : text.split('\n');
  return `${lines.map((l) => `    | ${l}`.trimEnd()).join('\n')}\n${text.endsWith('\n') || text === '' ? '' : '    (no newline at end)\n'}`;
}

/** One step as `--dry-run` prints it. */
export function formatStep(step: Step): string {
  switch (step.kind) {
    case 'write':
      return `write ${step.path} (mode ${octal(step.mode)}):\n${describeContent(step.content)}`;
    case 'symlink':
      return `symlink ${step.path} -> ${step.target}\n`;
    case 'remove':
      return `remove ${step.path}\n`;
    case 'mkdir':
      return `mkdir ${step.path} (mode ${octal(step.mode)})\n`;
    case 'rmdir':
      return `rmdir ${step.path} (if empty)\n`;
    case 'run':
      return `run ${step.argv.map(quoteArg).join(' ')}${step.mayFail === true ? '   (may fail)' : ''}\n`;
  }
}

export function formatPlan(plan: Plan): string {
  return plan.map(formatStep).join('');
}
