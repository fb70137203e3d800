/**
 * The CLI's writes to a configuration file, through conf (atomic temp-file-and-rename writes). The daemon
 * never writes. Every edit is validated as a whole before anything is written, and a file that cannot be
 * read or parsed is refused, never replaced: conf's clearInvalidConfig would reset it to defaults.
 */
import Conf from 'conf';
import { basename, dirname, extname } from 'node:path';
import { parseConfigText, readConfigText, type ConfigSource } from './load.js';
import { checkConfig, type ConfigCheck } from './check-config.js';

export type RawConfig = Record<string, unknown>;

/** The file as written, {} when it does not exist yet; throws (naming the file) when it is unreadable or corrupt. */
export function readRawConfig(source: ConfigSource): RawConfig {
  const text = readConfigText({ path: source.path, explicit: false });
  return text === undefined ? {} : (parseConfigText(text, source.path) as RawConfig);
}

function openStore(path: string): Conf<RawConfig> {
  const ext = extname(path);
  return new Conf<RawConfig>({
    projectName: 'dotstub',
    projectSuffix: '',
    cwd: dirname(path),
    configName: basename(path, ext),
    fileExtension: ext.replace(/^\./, ''),
    clearInvalidConfig: false,
    accessPropertiesByDotNotation: false,
    // No secrets in it, and the service account must be able to read it.
    configFileMode: 0o644,
    serialize: (value) => `${JSON.stringify(value, null, 2)}\n`,
  });
}

/** Applies `edit` to the file, validates the result whole, then writes it; returns the check (warnings). */
export function editConfig(source: ConfigSource, edit: (current: RawConfig) => RawConfig): ConfigCheck {
  const current = readRawConfig(source);
  const next = edit(current);
  const check = checkConfig(next, source.path);
  openStore(source.path).store = next;
  return check;
}
