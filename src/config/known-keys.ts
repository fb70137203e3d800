/**
 * The objects inside a config file that have parsers of their own (cache, tls, portal, domain rules) refuse
 * keys they do not know, as the schema does at the top level: a misspelt key (`"portal": {"detct": false}`)
 * would otherwise be ignored without a word, and the setting the user meant would silently not apply.
 */
import { ConfigError } from '../errors.js';

export function rejectUnknownKeys(o: Record<string, unknown>, known: readonly string[], path: string): void {
  const unknown = Object.keys(o).find((k) => !known.includes(k));
  if (unknown !== undefined)
    throw new ConfigError(`${path}.${unknown}`, `unknown key (accepted here: ${known.join(', ')})`);
}
