/**
 * `dotstub query` arguments, the getdns_query way: single-letter flags that may be bundled (`-sl L`, `-lLU`),
 * `@UPSTREAM`s, `+extension`s, then NAME [TYPE] [CLASS], in any order. Every rejection names what is accepted.
 */
import { isIP } from 'node:net';
import { parseUpstreamAddress, type UpstreamAddress } from '../config/addresses.js';
import { reverseName } from '../dns/build-query.js';
import { classFromText, typeFromText } from '../dns/rr-types.js';
import { DotstubError } from '../errors.js';
import { parsePin } from '../upstream/spki-pin.js';

/** L = DNS over TLS, U = clear UDP (TCP when truncated), T = clear TCP. */
export type TransportLetter = 'L' | 'U' | 'T';
export type OutputMode = 'text' | 'json' | 'json-pretty' | 'quiet';

export interface QueryArgs {
  readonly help: boolean;
  readonly upstreams: readonly UpstreamAddress[];
  /** Bare base64 pins from -K, for every @UPSTREAM. */
  readonly pins: readonly string[];
  /** -l (or a shortcut); undefined when none was given. */
  readonly transports: readonly TransportLetter[] | undefined;
  /** -m (required) or -n (none); undefined when neither. */
  readonly authentication: 'required' | 'none' | undefined;
  readonly timeoutMs: number | undefined;
  readonly idleTimeoutMs: number | undefined;
  readonly padBlock: number | undefined;
  /** -b; 0 sends no OPT record. @default 1232 */
  readonly ednsUdpSize: number;
  readonly dnssecOk: boolean;
  /** The questions to ask: one, or A and AAAA for an address lookup (-A, or a NAME without TYPE). */
  readonly questions: readonly { readonly name: string; readonly type: number; readonly qclass: number }[];
  readonly output: OutputMode;
  readonly callReporting: boolean;
  readonly config: string | undefined;
  readonly caFile: string | undefined;
}

/** A command-line mistake: exit 64 with this message. */
export class QueryUsageError extends DotstubError {
  constructor(message: string) {
    super('ERR_DOTSTUB_USAGE', message);
  }
}

const TYPE_A = 1;
const TYPE_AAAA = 28;
const TYPE_PTR = 12;
const CLASS_IN = 1;
const DEFAULT_EDNS_SIZE = 1232;

/** getdns_query's transport shortcuts, as -l lists. */
const SHORTCUTS: Readonly<Record<string, readonly TransportLetter[]>> = {
  L: ['L'],
  E: ['L', 'T'],
  U: ['U'],
  u: ['U', 'T'],
  T: ['T'],
  O: ['T'],
};
const VALUE_FLAGS = new Set(['l', 'K', 't', 'e', 'P', 'b']);
/** getdns_query options that make no sense or have no equivalent here. */
const UNSUPPORTED = 'aBcCfFiIkoRSxXyYVvWMNZz01';

interface State {
  help: boolean;
  upstreams: UpstreamAddress[];
  pins: string[];
  transports: TransportLetter[] | undefined;
  required: boolean;
  none: boolean;
  timeoutMs: number | undefined;
  idleTimeoutMs: number | undefined;
  padBlock: number | undefined;
  ednsUdpSize: number;
  dnssecOk: boolean;
  lookup: 'general' | 'address' | 'hostname';
  positionals: string[];
  output: OutputMode;
  callReporting: boolean;
  qclass: number | undefined;
  config: string | undefined;
  caFile: string | undefined;
}

function integer(flag: string, text: string, min: number, max: number, what: string): number {
  const value = /^\d{1,6}$/.test(text) ? Number(text) : NaN;
  if (!(value >= min && value <= max))
    throw new QueryUsageError(`-${flag} takes ${what} from ${min} to ${max}; got ${JSON.stringify(text)}`);
  return value;
}

function transportList(text: string): TransportLetter[] {
  const letters = Array.from(text).filter((c): c is TransportLetter => c === 'L' || c === 'U' || c === 'T');
  if (letters.length !== text.length || text === '' || new Set(letters).size !== letters.length)
    throw new QueryUsageError(
      `-l takes U, T and L, each at most once, in the order to try them (for example -l LU); got ${JSON.stringify(text)}`,
    );
  return letters;
}

function withValue(s: State, flag: string, value: string): void {
  switch (flag) {
    case 'l':
      s.transports = transportList(value);
      return;
    case 'K':
      try {
        s.pins.push(parsePin(value, '-K'));
      } catch (err) {
        throw new QueryUsageError((err as Error).message);
      }
      return;
    case 't':
      s.timeoutMs = integer(flag, value, 1, 600_000, 'a timeout in milliseconds');
      return;
    case 'e':
      s.idleTimeoutMs = integer(flag, value, 0, 600_000, 'an idle timeout in milliseconds');
      return;
    case 'P':
      // getdns_query: 0 turns padding off, 1 is "a sensible default policy" (RFC 8467's 128).
      s.padBlock = integer(flag, value, 0, 4096, 'a padding block size (0: none, 1: 128)');
      if (s.padBlock === 1) s.padBlock = 128;
      return;
    default: {
      const size = integer(flag, value, 0, 65535, 'an EDNS buffer size (0: no EDNS)');
      if (size > 0 && size < 512)
        throw new QueryUsageError(`-b takes 0 (no EDNS) or 512 to 65535; got ${JSON.stringify(value)}`);
      s.ednsUdpSize = size;
    }
  }
}

const FLAG_EFFECTS: Readonly<Record<string, (s: State) => void>> = {
  s: () => undefined, // stub resolution: the only kind there is
  G: (s) => (s.lookup = 'general'),
  A: (s) => (s.lookup = 'address'),
  H: (s) => (s.lookup = 'hostname'),
  m: (s) => (s.required = true),
  n: (s) => (s.none = true),
  D: (s) => (s.dnssecOk = true),
  d: (s) => (s.dnssecOk = false),
  j: (s) => (s.output = 'json'),
  J: (s) => (s.output = 'json-pretty'),
  p: (s) => (s.output = 'text'),
  q: (s) => (s.output = 'quiet'),
  h: (s) => (s.help = true),
};

function flag(s: State, letter: string): void {
  const effect = FLAG_EFFECTS[letter];
  if (effect !== undefined) {
    effect(s);
    return;
  }
  const shortcut = SHORTCUTS[letter];
  if (shortcut !== undefined) {
    s.transports = [...shortcut];
    return;
  }
  if (letter === 'r')
    throw new QueryUsageError('-r (recursive resolution) is not supported: dotstub query is a stub (-s)');
  if (UNSUPPORTED.includes(letter))
    throw new QueryUsageError(`-${letter} is a getdns_query option that dotstub query does not support`);
  throw new QueryUsageError(`unknown option -${letter}`);
}

/** One `-xyz` argument; returns how many following arguments it consumed as a value. */
function shortFlags(s: State, arg: string, next: string | undefined): number {
  for (let i = 1; i < arg.length; i++) {
    const letter = arg[i] ?? '';
    if (!VALUE_FLAGS.has(letter)) {
      flag(s, letter);
      continue;
    }
    const rest = arg.slice(i + 1);
    if (rest !== '') {
      withValue(s, letter, rest);
      return 0;
    }
    if (next === undefined) throw new QueryUsageError(`-${letter} needs a value`);
    withValue(s, letter, next);
    return 1;
  }
  return 0;
}

function longOption(s: State, arg: string, next: string | undefined): number {
  const [name = '', inline] = arg.slice(2).split(/=(.*)/s);
  if (name === 'help') {
    s.help = true;
    return 0;
  }
  if (name !== 'config' && name !== 'ca-file') throw new QueryUsageError(`unknown option --${name}`);
  const value = inline ?? next;
  if (value === undefined || value === '') throw new QueryUsageError(`--${name} needs a file name`);
  if (name === 'config') s.config = value;
  else s.caFile = value;
  return inline === undefined ? 1 : 0;
}

/** getdns_query reads `IP:PORT` and `[V6]:PORT` as the clear-text port, the same as `IP@PORT`. */
function upstream(arg: string): UpstreamAddress {
  const text = arg
    .slice(1)
    .replace(/^\[([^\]]+)\]:(\d+)/, '$1@$2')
    .replace(/^(\d+\.\d+\.\d+\.\d+):(\d+)/, '$1@$2');
  try {
    return parseUpstreamAddress(text, `upstream ${arg}`);
  } catch (err) {
    throw new QueryUsageError((err as Error).message);
  }
}

function extension(s: State, arg: string): void {
  if (arg === '+return_call_reporting') {
    s.callReporting = true;
    return;
  }
  const cls = /^\+specify_class=(.*)$/.exec(arg)?.[1];
  if (cls === undefined)
    throw new QueryUsageError(
      `unknown extension ${arg} (dotstub query supports +return_call_reporting and +specify_class=CLASS)`,
    );
  s.qclass = classCode(cls);
}

function classCode(text: string): number {
  const code = classFromText(text);
  if (code === undefined)
    throw new QueryUsageError(`unknown class ${JSON.stringify(text)} (expected IN, CH, HS or CLASSnnn)`);
  return code;
}

function newState(): State {
  return {
    help: false,
    upstreams: [],
    pins: [],
    transports: undefined,
    required: false,
    none: false,
    timeoutMs: undefined,
    idleTimeoutMs: undefined,
    padBlock: undefined,
    ednsUdpSize: DEFAULT_EDNS_SIZE,
    dnssecOk: false,
    lookup: 'general',
    positionals: [],
    output: 'text',
    callReporting: false,
    qclass: undefined,
    config: undefined,
    caFile: undefined,
  };
}

function scan(argv: readonly string[]): State {
  const s = newState();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    if (arg.startsWith('--')) i += longOption(s, arg, next);
    else if (arg.startsWith('-') && arg.length > 1) i += shortFlags(s, arg, next);
    else if (arg.startsWith('@')) s.upstreams.push(upstream(arg));
    else if (arg.startsWith('+')) extension(s, arg);
    else if (arg.startsWith('{'))
      throw new QueryUsageError("JSON settings ('{ ... }') are not supported; use the options");
    else s.positionals.push(arg);
  }
  return s;
}

function questionsOf(s: State): QueryArgs['questions'] {
  const [name, typeText, classText, ...extra] = s.positionals;
  if (name === undefined) throw new QueryUsageError('missing NAME');
  if (extra.length > 0) throw new QueryUsageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  if (classText !== undefined && s.qclass !== undefined)
    throw new QueryUsageError('give the class once: as CLASS or as +specify_class=CLASS');
  const qclass = classText === undefined ? (s.qclass ?? CLASS_IN) : classCode(classText);
  if (s.lookup === 'hostname') {
    const family = isIP(name);
    if (family === 0)
      throw new QueryUsageError(
        `-H (hostname lookup) needs an IP address as NAME; got ${JSON.stringify(name)}`,
      );
    return [{ name: reverseName(name, family as 4 | 6), type: TYPE_PTR, qclass }];
  }
  // As getdns_query: a NAME without TYPE is an address lookup, and -A ignores TYPE.
  if (s.lookup === 'address' || typeText === undefined)
    return [TYPE_A, TYPE_AAAA].map((type) => ({ name, type, qclass }));
  const type = typeFromText(typeText);
  if (type === undefined)
    throw new QueryUsageError(
      `unknown type ${JSON.stringify(typeText)} (expected a mnemonic such as A, AAAA, TXT, HTTPS, SVCB, or TYPEnnn)`,
    );
  return [{ name, type, qclass }];
}

function checkCombination(s: State): void {
  if (s.required && s.none)
    throw new QueryUsageError('choose one of -m (authentication required) and -n (authentication none)');
  const clear = s.transports?.filter((t) => t !== 'L') ?? [];
  // getdns refuses this context too: required authentication cannot hold over a clear-text transport.
  if (s.required && clear.length > 0)
    throw new QueryUsageError(
      `-m (authentication required) needs TLS only, but -l ${s.transports?.join('') ?? ''} includes clear text (${clear.join(', ')}): use -l L, or -n`,
    );
  if (s.dnssecOk && s.ednsUdpSize === 0)
    throw new QueryUsageError('-D (set the DO bit) needs EDNS: drop -b 0');
  if (s.upstreams.length > 0) return;
  if (s.pins.length > 0)
    throw new QueryUsageError('-K applies to the @UPSTREAMs given on the command line; give at least one');
  if (clear.length > 0)
    throw new QueryUsageError(
      'clear-text transports (-l with U or T) need an @UPSTREAM: the configured upstreams are only asked as their profile says',
    );
}

/** Parses `dotstub query` arguments (after the word `query`); throws QueryUsageError. */
export function parseQueryArgs(argv: readonly string[]): QueryArgs {
  const s = scan(argv);
  const { help, upstreams, pins, transports, timeoutMs, idleTimeoutMs, padBlock, ednsUdpSize } = s;
  const { dnssecOk, output, callReporting, config, caFile } = s;
  const authentication: QueryArgs['authentication'] = s.required ? 'required' : s.none ? 'none' : undefined;
  const base = {
    ...{ help, upstreams, pins, transports, authentication, timeoutMs, idleTimeoutMs, padBlock },
    ...{ ednsUdpSize, dnssecOk, output, callReporting, config, caFile },
  };
  if (s.help) return { ...base, questions: [] };
  checkCombination(s);
  return { ...base, questions: questionsOf(s) };
}
