/**
 * `dotstub status [--json] [--watch [SECONDS]] [--prometheus] [--control PATH]`: asks the running daemon for
 * its status over the control socket and prints it for people, as JSON, or in the Prometheus text format.
 * With --watch it asks again every N seconds until Ctrl-C. A daemon that is not running is said so, with
 * exit code 69 (EX_UNAVAILABLE).
 */
import { parseArgs } from 'node:util';
import { STATUS_VERSION, type StatusSnapshot } from '../control/status-types.js';
import { describeCause } from '../errors.js';
import { callDaemon, resolveControlPath } from './control-client.js';
import { formatPrometheus } from './status-prometheus.js';
import { formatStatusText } from './status-text.js';

export const STATUS_USAGE = `usage: dotstub status [--json | --prometheus] [--watch [SECONDS]] [--control SOCKET] [--utc]
  --json         the daemon's status object as JSON (one line per refresh with --watch)
  --prometheus   the counters in the Prometheus text exposition format
  --watch [N]    refresh every N seconds (default 2, from 0.5 to 3600) until Ctrl-C
  --control P    the daemon's control socket (default: $DOTSTUB_CONTROL, the user's daemon, the system's)
  --utc          print times in UTC`;

const EX_USAGE = 64;
const EX_UNAVAILABLE = 69;
const DEFAULT_WATCH_S = 2;
const MIN_WATCH_S = 0.5;
const MAX_WATCH_S = 3600;

export interface StatusIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Clear the screen between refreshes (a terminal). */
  readonly tty: boolean;
  /** Ends --watch (tests); SIGINT ends it too. */
  readonly signal?: AbortSignal | undefined;
}

const processIo: StatusIo = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  tty: process.stdout.isTTY,
};

type Format = 'text' | 'json' | 'prometheus';

interface StatusArgs {
  readonly format: Format;
  readonly watchS: number | undefined;
  readonly control: string | undefined;
  readonly utc: boolean;
}

/** `--watch` takes an optional number, which parseArgs cannot express: it is taken out first. */
function takeWatch(args: readonly string[]): { rest: string[]; watch: string | undefined } {
  const rest: string[] = [];
  let watch: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg.startsWith('--watch=')) watch = arg.slice('--watch='.length);
    else if (arg !== '--watch') rest.push(arg);
    else if (/^\d+(\.\d+)?$/.test(args[i + 1] ?? '')) watch = args[++i];
    else watch = String(DEFAULT_WATCH_S);
  }
  return { rest, watch };
}

export function parseStatusArgs(args: readonly string[]): StatusArgs {
  const { rest, watch } = takeWatch(args);
  const { values } = parseArgs({
    args: rest,
    options: {
      json: { type: 'boolean' },
      prometheus: { type: 'boolean' },
      control: { type: 'string' },
      utc: { type: 'boolean' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.json === true && values.prometheus === true)
    throw usageError('choose one: --json or --prometheus');
  let watchS: number | undefined;
  if (watch !== undefined) {
    watchS = Number(watch);
    if (!(watchS >= MIN_WATCH_S && watchS <= MAX_WATCH_S))
      throw usageError(
        `--watch takes seconds from ${MIN_WATCH_S} to ${MAX_WATCH_S}, not ${JSON.stringify(watch)}`,
      );
  }
  return {
    format: values.json === true ? 'json' : values.prometheus === true ? 'prometheus' : 'text',
    watchS,
    control: values.control,
    utc: values.utc === true,
  };
}

function usageError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' });
}

export function renderStatus(snapshot: StatusSnapshot, format: Format, utc: boolean): string {
  if (format === 'json') return `${JSON.stringify(snapshot)}\n`;
  if (format === 'prometheus') return formatPrometheus(snapshot);
  return formatStatusText(snapshot, { utc });
}

async function fetchStatus(path: string): Promise<StatusSnapshot> {
  const result = (await callDaemon('status', undefined, { path })) as { version?: unknown };
  if (result.version !== STATUS_VERSION)
    throw Object.assign(
      new Error(
        `the daemon speaks status version ${String(result.version)}; this dotstub knows ${STATUS_VERSION}: run the same version of both`,
      ),
      { code: 'ERR_DOTSTUB_STATUS_VERSION' },
    );
  return result as StatusSnapshot;
}

/** Waits `ms`, or less if the signal fires; resolves true when it fired. */
function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(false);
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

async function watch(args: StatusArgs, path: string, io: StatusIo, first: StatusSnapshot): Promise<number> {
  const controller = new AbortController();
  const stop = (): void => {
    controller.abort();
  };
  process.once('SIGINT', stop);
  io.signal?.addEventListener('abort', stop, { once: true });
  const clear = io.tty && args.format !== 'json' ? '\x1b[H\x1b[2J' : '';
  let snapshot: StatusSnapshot | undefined = first;
  try {
    for (;;) {
      if (snapshot !== undefined) io.out(`${clear}${renderStatus(snapshot, args.format, args.utc)}`);
      if (await pause((args.watchS ?? DEFAULT_WATCH_S) * 1000, controller.signal)) return 0;
      // A daemon that restarts under --watch is waited for, not given up on.
      snapshot = await fetchStatus(path).catch((err: unknown) => {
        io.err(`dotstub status: ${describeCause(err)} (still watching)\n`);
        return undefined;
      });
    }
  } finally {
    process.removeListener('SIGINT', stop);
  }
}

export async function statusCommand(args: readonly string[], io: StatusIo = processIo): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    io.out(`${STATUS_USAGE}\n`);
    return 0;
  }
  let parsed: StatusArgs;
  try {
    parsed = parseStatusArgs(args);
  } catch (err) {
    io.err(`dotstub status: ${describeCause(err)}\n${STATUS_USAGE}\n`);
    return EX_USAGE;
  }
  const path = resolveControlPath(parsed.control);
  let snapshot: StatusSnapshot;
  try {
    snapshot = await fetchStatus(path);
  } catch (err) {
    io.err(`dotstub status: ${err instanceof Error ? err.message : String(err)}\n`);
    return EX_UNAVAILABLE;
  }
  if (parsed.watchS !== undefined) return watch(parsed, path, io, snapshot);
  io.out(renderStatus(snapshot, parsed.format, parsed.utc));
  return 0;
}
