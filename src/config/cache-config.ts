/**
 * The `cache` object of the configuration file: every key optional, each checked with its path
 * (`cache.maxTtl`) and what is accepted. Kept apart from daemon-config.ts so the schema port stays simple.
 */
import { DEFAULT_CACHE_CONFIG, type CacheConfig } from '../cache/cache-options.js';
import { ConfigError } from '../errors.js';
import { rejectUnknownKeys } from './known-keys.js';

type Json = Record<string, unknown>;

function whole(o: Json, key: keyof CacheConfig, min: number, max: number): number {
  const value = o[key];
  if (value === undefined) return DEFAULT_CACHE_CONFIG[key] as number;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  throw new ConfigError(
    `cache.${key}`,
    `${JSON.stringify(value)} is not a whole number from ${min} to ${max}`,
  );
}

function flag(o: Json, key: keyof CacheConfig): boolean {
  const value = o[key];
  if (value === undefined) return DEFAULT_CACHE_CONFIG[key] as boolean;
  if (typeof value === 'boolean') return value;
  throw new ConfigError(`cache.${key}`, `${JSON.stringify(value)} is not true or false`);
}

const KNOWN = Object.keys(DEFAULT_CACHE_CONFIG);

export function cacheConfig(file: Json): CacheConfig {
  const raw = file.cache;
  if (raw === undefined) return DEFAULT_CACHE_CONFIG;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new ConfigError('cache', `expected an object with any of ${KNOWN.join(', ')}`);
  const o = raw as Json;
  rejectUnknownKeys(o, KNOWN, 'cache');
  const config: CacheConfig = {
    enabled: flag(o, 'enabled'),
    maxEntries: whole(o, 'maxEntries', 0, 10_000_000),
    maxBytes: whole(o, 'maxBytes', 0, 4 * 1024 ** 3),
    maxTtl: whole(o, 'maxTtl', 0, 604_800),
    minTtl: whole(o, 'minTtl', 0, 86_400),
    prefetch: flag(o, 'prefetch'),
    serveStale: flag(o, 'serveStale'),
    maxStaleAge: whole(o, 'maxStaleAge', 0, 604_800),
  };
  if (config.minTtl > config.maxTtl)
    throw new ConfigError('cache.minTtl', `${config.minTtl} is above cache.maxTtl (${config.maxTtl})`);
  return config;
}
