#!/usr/bin/env node
/**
 * The `dotstub` command: parses arguments, runs the subcommand, maps error codes to exit codes. It imports
 * nothing but the command table: each command is bundled apart (scripts/bundle.mjs), so our errors are told
 * by their string code (every DotstubError has one), never by class.
 */
import { COMMANDS } from './commands.js';

const USAGE = `dotstub: a DNS-over-TLS stub resolver

usage: dotstub <command> [options]   (dotstub <command> --help for its options)

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(9)} ${c.summary}`)
  .join('\n')}
  help      show this text
  version   print the version`;

/** Exit codes by error code, so scripts can tell a bad config from a busy port. */
const EXIT_CODES: Record<string, number> = {
  ERR_DOTSTUB_CONFIG: 78, // EX_CONFIG
  ERR_DOTSTUB_LISTEN: 71, // EX_OSERR
  ERR_DOTSTUB_CONNECT: 69, // EX_UNAVAILABLE
  ERR_DOTSTUB_CONNECT_TIMEOUT: 69,
  ERR_DOTSTUB_NOT_ANSWERING: 69,
  ERR_DOTSTUB_PERMISSION: 77, // EX_NOPERM
  ERR_DOTSTUB_SYSTEM: 71,
  ERR_DOTSTUB_SERVICE: 71,
  ERR_PARSE_ARGS_UNKNOWN_OPTION: 64, // EX_USAGE
  ERR_PARSE_ARGS_INVALID_OPTION_VALUE: 64,
  ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL: 64,
};

async function version(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  const entry = command !== undefined && Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (entry !== undefined) return (await entry.load()).main(rest);
  switch (command) {
    case 'version':
    case '--version':
    case '-v':
      process.stdout.write(`dotstub ${await version()}\n`);
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? 64 : 0;
    default:
      process.stderr.write(`dotstub: unknown command ${JSON.stringify(command)}\n\n${USAGE}\n`);
      return 64;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exit(code);
  },
  (err: unknown) => {
    const code = (err as { code?: unknown }).code;
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(`dotstub: ${message}\n`);
    // A stack only for what carries no code: a bug, not a condition we name.
    if (typeof code !== 'string' && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
    process.exit(typeof code === 'string' ? (EXIT_CODES[code] ?? 1) : 1);
  },
);
