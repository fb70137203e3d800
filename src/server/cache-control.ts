/**
 * The control methods of the cache: `cache.flush` (params {name?}) and `cache.stats`. A daemon without a
 * cache (cache.enabled false) still answers them, saying so, so the CLI can tell "disabled" from "down".
 */
import type { ResponseCache } from '../cache/response-cache.js';
import type { ControlServer } from './control-server.js';
import { ConfigError } from '../errors.js';

function nameParam(params: unknown): string | undefined {
  if (params === undefined || params === null) return undefined;
  const name = (params as { name?: unknown }).name;
  if (name === undefined) return undefined;
  if (typeof name !== 'string' || name === '' || name.length > 255)
    throw new ConfigError('name', `${JSON.stringify(name)} is not a domain name`);
  return name;
}

export function registerCacheControl(control: ControlServer, cache: ResponseCache | undefined): void {
  control.handle('cache.flush', (params) => {
    const name = nameParam(params);
    if (cache === undefined) return { enabled: false, removed: 0 };
    return { enabled: true, removed: cache.flush(name), ...(name === undefined ? {} : { name }) };
  });
  control.handle('cache.stats', () =>
    cache === undefined ? { enabled: false } : { enabled: true, ...cache.stats() },
  );
}
