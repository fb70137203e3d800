/**
 * Key paths as `dotstub config get|set|unset` takes them and as errors print them: `timeout`,
 * `backoff.max`, `upstreams[0].pins`, `upstreams[1].pins[0]`.
 */
import { ConfigError } from '../errors.js';

export type KeyPath = readonly (string | number)[];

const SEGMENT = /^([A-Za-z_][A-Za-z0-9_]*)?((?:\[\d+\])*)$/;

export function parseKeyPath(text: string): KeyPath {
  const out: (string | number)[] = [];
  for (const part of text.split('.')) {
    const match = SEGMENT.exec(part);
    if (part === '' || match === null || (match[1] === undefined && out.length === 0)) {
      throw new ConfigError(
        'KEY',
        `${JSON.stringify(text)} is not a key path (expected, for example, timeout, backoff.max or upstreams[0].pins)`,
      );
    }
    if (match[1] !== undefined) out.push(match[1]);
    for (const index of (match[2] ?? '').matchAll(/\[(\d+)\]/g)) out.push(Number(index[1]));
  }
  return out;
}

type Container = Record<string, unknown> | unknown[];

const isContainer = (v: unknown): v is Container => typeof v === 'object' && v !== null;

export function getAt(root: unknown, path: KeyPath): unknown {
  let node = root;
  for (const key of path) {
    if (!isContainer(node)) return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}

/** A copy of `root` with the value at `path` replaced; missing objects and list slots are created. */
export function setAt(root: Record<string, unknown>, path: KeyPath, value: unknown): Record<string, unknown> {
  const copy = structuredClone(root);
  let node: Container = copy;
  path.forEach((key, i) => {
    const last = i === path.length - 1;
    const next = path[i + 1];
    const target = node as Record<string | number, unknown>;
    if (Array.isArray(node) && typeof key === 'number' && key > node.length)
      throw new ConfigError(String(key), `index ${key} is past the end of the list (length ${node.length})`);
    if (last) target[key] = value;
    else {
      if (!isContainer(target[key])) target[key] = typeof next === 'number' ? [] : {};
      node = target[key] as Container;
    }
  });
  return copy;
}

/** A copy of `root` without the value at `path` (a list element is removed, the rest moves up). */
export function unsetAt(root: Record<string, unknown>, path: KeyPath): Record<string, unknown> {
  const copy = structuredClone(root);
  const parent = getAt(copy, path.slice(0, -1));
  const key = path[path.length - 1];
  if (key === undefined || !isContainer(parent)) return copy;
  if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1);
  else if (!Array.isArray(parent)) Reflect.deleteProperty(parent, key);
  return copy;
}
