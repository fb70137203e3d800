/**
 * Levelled logfmt logger writing to stderr (journald and launchd capture it). Query names are only ever
 * passed at debug level: this is a privacy tool. `rateLimited` keeps a failing upstream from flooding the
 * log (openwrt/packages#13726 saw 110 lines a second from stubby while offline).
 */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
const RANK = Object.fromEntries(LOG_LEVELS.map((level, i) => [level, i])) as Readonly<
  Record<LogLevel, number>
>;

export type LogFields = Record<string, string | number | boolean | undefined>;

export interface Logger {
  readonly level: LogLevel;
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  enabled(level: LogLevel): boolean;
  child(fields: LogFields): Logger;
  /** Logs at most once per `intervalMs` per key; reports how many were suppressed in between. */
  rateLimited(level: LogLevel, key: string, intervalMs: number, msg: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  level: LogLevel;
  write?: (line: string) => void;
  now?: () => number;
}

function formatValue(value: string | number | boolean): string {
  const s = String(value);
  return /^[^\s"=]+$/.test(s) ? s : JSON.stringify(s);
}

function format(level: LogLevel, msg: string, fields: LogFields): string {
  let line = `level=${level} msg=${formatValue(msg)}`;
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined) line += ` ${key}=${formatValue(value)}`;
  }
  return line;
}

interface LimitState {
  last: number;
  suppressed: number;
}

export function createLogger(options: LoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const now = options.now ?? Date.now;
  const limits = new Map<string, LimitState>();
  // Ranked once: enabled() runs for every query (an Array indexOf each time was 0.3 % of the profile).
  const threshold = RANK[options.level];
  const make = (base: LogFields): Logger => {
    const log = (level: LogLevel, msg: string, fields?: LogFields): void => {
      if (RANK[level] <= threshold) write(format(level, msg, { ...base, ...fields }));
    };
    return {
      level: options.level,
      error: (m, f) => {
        log('error', m, f);
      },
      warn: (m, f) => {
        log('warn', m, f);
      },
      info: (m, f) => {
        log('info', m, f);
      },
      debug: (m, f) => {
        log('debug', m, f);
      },
      enabled: (level) => RANK[level] <= threshold,
      child: (fields) => make({ ...base, ...fields }),
      rateLimited: (level, key, intervalMs, msg, fields) => {
        const t = now();
        const state = limits.get(key);
        if (state !== undefined && t - state.last < intervalMs) {
          state.suppressed++;
          return;
        }
        const suppressed = state?.suppressed ?? 0;
        limits.set(key, { last: t, suppressed: 0 });
        log(level, msg, suppressed > 0 ? { ...fields, suppressed } : fields);
      },
    };
  };
  return make({});
}
