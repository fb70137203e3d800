/**
 * The JSON Schema of the configuration file, generated from the zod schema (the single source), for
 * editors and for docs/config.schema.json (a test checks the committed file is up to date).
 */
import * as z from 'zod';
import { ConfigSchema } from './schema.js';

export const SCHEMA_ID = 'https://github.com/dotstub/dotstub/blob/main/docs/config.schema.json';

export function configJsonSchema(): Record<string, unknown> {
  // The input side: keys with defaults are optional in the file.
  return { ...z.toJSONSchema(ConfigSchema, { io: 'input' }), $id: SCHEMA_ID };
}

/** The committed file's text: two-space JSON and a final newline, as prettier leaves it. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
