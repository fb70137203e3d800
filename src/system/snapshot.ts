/**
 * What a path held before dotstub changed it, byte for byte: a file's content and mode, a symlink's target,
 * or nothing. Saved before the first change, and turned back into a plan that puts each path back exactly.
 */
import { Buffer } from 'node:buffer';
import { lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { underRoot } from './executor.js';
import type { Step } from './plan.js';

export type PathSnapshot =
  | { readonly path: string; readonly kind: 'absent' }
  | { readonly path: string; readonly kind: 'file'; readonly mode: number; readonly base64: string }
  | { readonly path: string; readonly kind: 'symlink'; readonly target: string }
  /** A directory dotstub may create; restoring removes it again only if it is empty. */
  | { readonly path: string; readonly kind: 'dir' | 'absent-dir' };

export function snapshotPath(root: string, path: string, asDir = false): PathSnapshot {
  const real = underRoot(root, path);
  let st;
  try {
    st = lstatSync(real);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return { path, kind: asDir ? 'absent-dir' : 'absent' };
  }
  if (st.isSymbolicLink()) return { path, kind: 'symlink', target: readlinkSync(real) };
  if (st.isDirectory()) return { path, kind: 'dir' };
  return { path, kind: 'file', mode: st.mode & 0o7777, base64: readFileSync(real).toString('base64') };
}

/** Steps that make the path what the snapshot says (directories last: after the files in them are back). */
export function restoreSteps(snapshots: readonly PathSnapshot[]): Step[] {
  const files: Step[] = [];
  const dirs: Step[] = [];
  for (const s of snapshots) {
    switch (s.kind) {
      case 'absent':
        files.push({ kind: 'remove', path: s.path });
        break;
      case 'file':
        files.push({ kind: 'write', path: s.path, content: Buffer.from(s.base64, 'base64'), mode: s.mode });
        break;
      case 'symlink':
        files.push({ kind: 'symlink', path: s.path, target: s.target });
        break;
      case 'absent-dir':
        dirs.unshift({ kind: 'rmdir', path: s.path });
        break;
      case 'dir':
        break;
    }
  }
  return [...files, ...dirs];
}

/** The text a snapshot held, following nothing: undefined for a symlink or absence. */
export function snapshotText(s: PathSnapshot): string | undefined {
  return s.kind === 'file' ? Buffer.from(s.base64, 'base64').toString('utf8') : undefined;
}
