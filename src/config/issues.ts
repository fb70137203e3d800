/**
 * zod's issues as dotstub's errors: `upstreams[1].pins[0]: not a pin-sha256 value: "x" (expected ...)`,
 * the key path as a user would type it for `dotstub config get`, the bad value, what is accepted.
 */
import type * as z from 'zod';
import { ConfigError } from '../errors.js';

type Issue = z.core.$ZodIssue;

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

/** The schema's shape at a path, to list the keys an object accepts. */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let node: unknown = schema;
  for (const key of path) {
    node = unwrap(node);
    const def = (node as { def?: { type?: string; element?: unknown; options?: unknown[] } }).def;
    if (typeof key === 'number' && def?.type === 'array') node = def.element;
    else if (def?.type === 'union')
      node = def.options?.find((o) => (o as { shape?: unknown }).shape !== undefined);
    else node = (node as { shape?: Record<string, unknown> }).shape?.[String(key)];
  }
  node = unwrap(node);
  if ((node as { def?: { type?: string } }).def?.type === 'union')
    node = (node as { def: { options: unknown[] } }).def.options.find(
      (o) => (o as { shape?: unknown }).shape !== undefined,
    );
  return Object.keys((node as { shape?: Record<string, unknown> } | undefined)?.shape ?? {});
}

function unwrap(node: unknown): unknown {
  let current = node;
  for (let i = 0; i < 8; i++) {
    const def = (current as { def?: { type?: string; innerType?: unknown } } | undefined)?.def;
    if (def?.innerType === undefined || !['optional', 'default', 'nullable'].includes(def.type ?? '')) break;
    current = def.innerType;
  }
  return current;
}

/** One line per problem; a union reports the branch that matches the value's shape. */
function describe(issue: Issue, prefix: readonly PropertyKey[], schema: z.ZodType): [string, string][] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union') {
    const isObject = typeof issue.input === 'object' && issue.input !== null && !Array.isArray(issue.input);
    const branch = issue.errors.find((errs) =>
      errs.every(
        (e) => e.path.length > 0 || e.code !== 'invalid_type' || (e.expected === 'object') === isObject,
      ),
    );
    if (branch !== undefined && (typeof issue.input === 'string' || isObject))
      return branch.flatMap((e) => describe(e, path, schema));
  }
  if (issue.code === 'unrecognized_keys') {
    const accepted = knownKeys(schema, path).join(', ');
    return issue.keys.map((k) => [formatPath([...path, k]), `unknown key (accepted here: ${accepted})`]);
  }
  return [[formatPath(path), issue.message]];
}

/** The whole list of problems as one ConfigError naming the first key path. */
export function issuesToError(error: z.ZodError, schema: z.ZodType, source?: string): ConfigError {
  const lines = error.issues.flatMap((issue) => describe(issue, [], schema));
  const [first, ...rest] = lines;
  const where = source === undefined ? '' : ` (in ${source})`;
  const more = rest.map(([p, m]) => `\n${p === '' ? '' : `${p}: `}${m}`).join('');
  return new ConfigError(first?.[0] ?? '', `${first?.[1] ?? 'invalid configuration'}${where}${more}`);
}
