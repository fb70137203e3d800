/**
 * What the schema makes of an empty file (validateConfig({})), written out so that a daemon on the embedded
 * defaults need not load the schema. test/unit/config-schema.test.ts checks the two never differ.
 */
import type { ConfigFile } from './schema.js';

export const FILE_DEFAULTS: ConfigFile = {
  profile: 'strict',
  fallback: [],
  selection: 'round-robin',
  timeout: 5000,
  idleTimeout: 10000,
  connectTimeout: 3000,
  paddingBlockSize: 128,
  limitOutstandingQueries: 4096,
  backoff: { initial: 1000, max: 60000 },
  connectionRetries: 2,
  tlsMinVersion: 'TLS1.2',
  ecsPrivate: true,
  logLevel: 'info',
};
