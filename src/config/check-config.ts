/** Every check the daemon would make at start, on a file's content (`config validate`, `config set`). */
import { configFromFile, type DaemonConfig } from './daemon-config.js';
import type { ConfigFile } from './schema.js';
import { upstreamFromJson } from './upstream-json.js';
import { validateConfig } from './validate.js';

export interface ConfigCheck {
  readonly config: ConfigFile;
  readonly daemon: DaemonConfig;
  readonly warnings: readonly string[];
}

export function checkConfig(raw: unknown, path?: string): ConfigCheck {
  const config = validateConfig(raw, path);
  const daemon = configFromFile({}, config, path, upstreamFromJson);
  return { config, daemon, warnings: daemon.warnings };
}
