/**
 * `dotstub config path | show [--json] | get KEY | set KEY VALUE | unset KEY | validate [FILE] |
 * import-stubby FILE [--write] | schema`. Reads go through the same loader as the daemon; writes go
 * through conf, after the whole result validates (src/config/store.ts).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { checkConfig } from '../config/check-config.js';
import { configJsonSchemaText } from '../config/json-schema.js';
import { getAt, parseKeyPath, setAt, unsetAt } from '../config/key-path.js';
import { configSource, loadConfig, type ConfigSource } from '../config/load.js';
import { editConfig, readRawConfig } from '../config/store.js';
import { importStubby } from '../config/stubby-import.js';
import { ConfigError, describeCause, DotstubError } from '../errors.js';

class ConfigUsageError extends DotstubError {
  constructor(message: string) {
    super('ERR_DOTSTUB_USAGE', message);
  }
}

export const CONFIG_USAGE = `usage: dotstub config [--config FILE] COMMAND
  path                     print the configuration file in use (--config, $DOTSTUB_CONFIG, then the
                           system file as root, the user's otherwise)
  show [--json]            the effective configuration: the file with the defaults filled in
  get KEY                  one value, as JSON (KEY: timeout, backoff.max, upstreams[0].pins)
  set KEY VALUE            VALUE is JSON when it parses as JSON, a string otherwise; the whole
                           result is validated before anything is written
  unset KEY                back to the default (a list element is removed)
  validate [FILE]          check a file as the daemon would at start
  import-stubby FILE [--write]
                           map a stubby.yml; prints the result, or with --write merges it into the file
  schema                   print the JSON Schema of the file`;

const OPTIONS = {
  config: { type: 'string' },
  json: { type: 'boolean' },
  write: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const out = (text: string): void => {
  process.stdout.write(`${text}\n`);
};
const warn = (warnings: readonly string[]): void => {
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
};

function usage(message: string): never {
  throw new ConfigUsageError(`${message}\n${CONFIG_USAGE}`);
}

function parseValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

async function show(source: ConfigSource, json: boolean): Promise<number> {
  const { config, path } = await loadConfig(source);
  if (json) out(JSON.stringify(config, null, 2));
  else {
    out(`# ${path ?? `embedded defaults (no file at ${source.path})`}`);
    for (const [key, value] of Object.entries(config)) out(`${key} = ${JSON.stringify(value)}`);
    if (config.listen === undefined) out('listen = (default) ["127.0.0.1@53","::1@53"]');
    if (config.upstreams === undefined) out('upstreams = (default) Quad9 and Cloudflare, by name');
  }
  return 0;
}

function validate(file: string | undefined, source: ConfigSource): number {
  const path = file ?? source.path;
  const raw = readRawConfig({ path, explicit: true });
  const { warnings } = checkConfig(raw, path);
  warn(warnings);
  out(`${path}: valid`);
  return 0;
}

function importCommand(file: string | undefined, write: boolean, source: ConfigSource): number {
  if (file === undefined) usage('import-stubby needs the stubby.yml to read');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('', `cannot read ${file}: ${describeCause(err)}`);
  }
  const { config, notes } = importStubby(text, file);
  for (const note of notes) process.stderr.write(`note: ${note}\n`);
  if (!write) {
    warn(checkConfig(config, file).warnings);
    out(JSON.stringify(config, null, 2));
    return 0;
  }
  warn(editConfig(source, (current) => ({ ...current, ...config })).warnings);
  out(`wrote ${source.path}`);
  return 0;
}

function edit(command: string, rest: readonly string[], source: ConfigSource): number {
  const [key, value] = rest;
  if (key === undefined) usage(`${command} needs a KEY`);
  const path = parseKeyPath(key);
  if (command === 'set' && value === undefined) usage('set needs a KEY and a VALUE');
  const check = editConfig(source, (current) =>
    command === 'set' ? setAt(current, path, parseValue(value ?? '')) : unsetAt(current, path),
  );
  warn(check.warnings);
  return 0;
}

/** `dotstub config ARGS`, resolving with the exit code. */
export function configCommand(args: readonly string[]): Promise<number> {
  return Promise.resolve()
    .then(() => run(args))
    .catch((err: unknown) => {
      // Usage mistakes exit 64 (EX_USAGE) here; everything else goes to main's exit-code table.
      if (!(err instanceof ConfigUsageError)) throw err;
      process.stderr.write(`dotstub config: ${err.message}\n`);
      return 64;
    });
}

async function run(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true });
  const [command, ...rest] = positionals;
  if (values.help === true || command === undefined) {
    out(CONFIG_USAGE);
    return command === undefined && values.help !== true ? 64 : 0;
  }
  const source = configSource(values.config);
  switch (command) {
    case 'path':
      out(source.path);
      return 0;
    case 'show':
      return show(source, values.json === true);
    case 'get': {
      if (rest[0] === undefined) usage('get needs a KEY');
      const { config } = await loadConfig(source);
      const value = getAt(config, parseKeyPath(rest[0]));
      if (value === undefined) throw new ConfigError(rest[0], 'not set (and no default)');
      out(JSON.stringify(value, null, 2));
      return 0;
    }
    case 'set':
    case 'unset':
      return edit(command, rest, source);
    case 'validate':
      return validate(rest[0], source);
    case 'import-stubby':
      return importCommand(rest[0], values.write === true, source);
    case 'schema':
      process.stdout.write(configJsonSchemaText());
      return 0;
    default:
      return usage(`unknown config command ${JSON.stringify(command)}`);
  }
}
