// A scratch root for tests of plans that change files: a whole-tree snapshot (type, mode, bytes, link target)
// to compare byte for byte, and a fake command runner that records every argv.
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
  chmodSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { CommandResult, CommandRunner } from '../../src/system/executor.js';

export function makeRoot(): string {
  return mkdtempSync(join(tmpdir(), 'dotstub-root-'));
}

export function put(root: string, path: string, content: string | Buffer, mode = 0o644): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), content);
  chmodSync(join(root, path), mode);
}

export function link(root: string, path: string, target: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  symlinkSync(target, join(root, path));
}

/** Every entry under `dir`: `f 0644 <base64>`, `l -> target`, `d 0755`. */
export function tree(dir: string, exclude: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const r = join(rel, name);
      if (exclude.some((e) => r === e || r.startsWith(`${e}/`))) continue;
      const p = join(dir, r);
      const st = lstatSync(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isSymbolicLink()) out[r] = `l -> ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[r] = `d ${mode}`;
        walk(r);
      } else out[r] = `f ${mode} ${readFileSync(p).toString('base64')}`;
    }
  };
  walk('');
  return out;
}

export interface FakeRunner {
  readonly runner: CommandRunner;
  readonly calls: string[][];
}

/** Answers each command from `answers` (keyed by argv joined with spaces), else exit 0 with no output. */
export function fakeRunner(answers: Record<string, Partial<CommandResult>> = {}): FakeRunner {
  const calls: string[][] = [];
  return {
    calls,
    runner: (argv) => {
      calls.push([...argv]);
      const a = answers[argv.join(' ')] ?? {};
      return Promise.resolve({ code: a.code ?? 0, stdout: a.stdout ?? '', stderr: a.stderr ?? '' });
    },
  };
}
