/** An upstream written inside another section (split DNS servers), checked against the same schema. */
import { ConfigError } from '../errors.js';
import type { UpstreamSpec } from '../upstream/upstream.js';
import { upstreamFromEntry } from './daemon-config.js';
import { UpstreamEntrySchema } from './schema.js';

export function upstreamFromJson(value: unknown, path: string): UpstreamSpec {
  const parsed = UpstreamEntrySchema.safeParse(value);
  if (!parsed.success)
    throw new ConfigError(path, 'expected "IP#PORT~NAME" or {"address", "port", "authName", "pins"}');
  return upstreamFromEntry(parsed.data, path);
}
