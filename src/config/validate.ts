/** Validates a parsed configuration file against the schema; the error names every bad key. */
import { issuesToError } from './issues.js';
import { ConfigSchema, type ConfigFile } from './schema.js';

export function validateConfig(value: unknown, source?: string): ConfigFile {
  const result = ConfigSchema.safeParse(value, { reportInput: true });
  if (!result.success) throw issuesToError(result.error, ConfigSchema, source);
  return result.data;
}
