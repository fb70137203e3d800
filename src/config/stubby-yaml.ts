/**
 * Reads a stubby.yml safely: YAML 1.2 core schema, duplicate keys refused (stubby/libyaml would keep one
 * silently, and which one a user cannot tell), and a bound on alias expansion so a "billion laughs"
 * file cannot exhaust memory. Errors name the file and the line.
 */
import { parseDocument, type YAMLError } from 'yaml';
import { ConfigError } from '../errors.js';

/** Far above what any stubby.yml uses (none uses aliases at all), far below a bomb. */
const MAX_ALIAS_COUNT = 100;

function where(path: string, err: YAMLError): string {
  const pos = err.linePos?.[0];
  return pos === undefined ? path : `${path}:${pos.line}:${pos.col}`;
}

function describe(err: YAMLError): string {
  if (err.code === 'DUPLICATE_KEY')
    return 'a key appears twice in the same mapping (remove one: which of the two stubby used is not obvious)';
  return err.message.split('\n')[0] ?? err.message;
}

export function parseStubbyYaml(text: string, path: string): Record<string, unknown> {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, schema: 'core' });
  const first = doc.errors[0];
  if (first !== undefined) throw new ConfigError('', `${where(path, first)}: ${describe(first)}`);
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    throw new ConfigError(
      '',
      `${path}: ${(err as Error).message} (aliases are limited to ${MAX_ALIAS_COUNT} expansions, against YAML bombs)`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError('', `${path}: a stubby configuration is a YAML mapping of options`);
  return value as Record<string, unknown>;
}
