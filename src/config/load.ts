/**
 * Which configuration file applies, and reading it. Precedence: --config FILE (or $DOTSTUB_CONFIG), then
 * the scope's file (the system path for the service running as root, the user's env-paths directory
 * otherwise) when it exists, then the embedded defaults. The daemon only ever reads: a corrupt or
 * unreadable file is reported, naming the file and why, and left exactly as it is.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, describeCause } from '../errors.js';
import { configFile, currentScope } from './paths.js';
import { FILE_DEFAULTS } from './file-defaults.js';
import type { ConfigFile } from './schema.js';

export interface ConfigSource {
  /** The file to read, or undefined for the embedded defaults. */
  readonly path: string;
  /** Given by the user (--config, $DOTSTUB_CONFIG): a missing file is then an error. */
  readonly explicit: boolean;
}

export function configSource(explicit?: string, defaultPath?: string): ConfigSource {
  if (explicit !== undefined && explicit !== '') return { path: explicit, explicit: true };
  const fromEnv = process.env.DOTSTUB_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') return { path: fromEnv, explicit: true };
  return { path: defaultPath ?? configFile(currentScope()), explicit: false };
}

/** The file's text, or undefined when an implicit file does not exist. */
export function readConfigText(source: ConfigSource): string | undefined {
  try {
    return readFileSync(source.path, 'utf8');
  } catch (err) {
    if (!source.explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ConfigError('', `cannot read config file ${source.path}: ${describeCause(err)}`);
  }
}

/** Parses the JSON; the message names the file and says it was left untouched. */
export function parseConfigText(text: string, path: string): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(
      '',
      `config file ${path} is not valid JSON: ${(err as Error).message} (the file was left as it is: fix it, or move it away to use the defaults)`,
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ConfigError(
      '',
      `config file ${path} must hold a JSON object, not ${JSON.stringify(value).slice(0, 40)}`,
    );
  return value;
}

export interface LoadedConfig {
  /** The file with the defaults filled in. */
  readonly config: ConfigFile;
  /** The file as written ({} for the defaults). */
  readonly raw: Readonly<Record<string, unknown>>;
  /** The file it came from, or undefined when none exists (embedded defaults). */
  readonly path: string | undefined;
}

/**
 * The file's settings, defaults filled in. The schema (zod, about 100 ms to load) is loaded only when there
 * is a file: a daemon on the embedded defaults starts without it.
 */
export async function loadConfig(source: ConfigSource): Promise<LoadedConfig> {
  const text = readConfigText(source);
  if (text === undefined) return { config: FILE_DEFAULTS, raw: {}, path: undefined };
  const raw = parseConfigText(text, source.path) as Record<string, unknown>;
  const { validateConfig } = await import('./validate.js');
  return { config: validateConfig(raw, source.path), raw, path: source.path };
}
