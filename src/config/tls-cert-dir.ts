/**
 * Where the DoT listener's generated certificate lives: `tls.certDir`, or the data directory of this scope.
 * Apart from tls-config.ts so `dotstub pin --self` does not load the listener's modules.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors.js';
import { currentScope, dataDir } from './paths.js';

type Json = Record<string, unknown>;

/** `tls.certDir`, or the data directory of this scope (as root: the system service's). */
export function certDirOf(tls: Json): string {
  if (tls.certDir !== undefined && typeof tls.certDir !== 'string')
    throw new ConfigError('tls.certDir', 'expected a directory path');
  return tls.certDir ?? join(dataDir(currentScope()), 'tls');
}

/** Where the generated certificate lives for a daemon started with this config file (`dotstub pin --self`). */
export function selfCertDir(configPath: string | undefined): string {
  if (configPath === undefined) return certDirOf({});
  let file: unknown;
  try {
    file = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new ConfigError('--config', `cannot read ${configPath}: ${(err as Error).message}`);
  }
  const tls = (file as Json | null)?.tls;
  return certDirOf(typeof tls === 'object' && tls !== null ? (tls as Json) : {});
}
