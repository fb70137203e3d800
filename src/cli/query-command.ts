/**
 * `dotstub query`: one question (or A and AAAA) through the daemon's own upstream and resolver classes, with
 * getdns_query's flags, and an answer that says who answered, over what, and authenticated how.
 */
import { randomInt } from 'node:crypto';
import type { UpstreamAddress } from '../config/addresses.js';
import { DEFAULTS } from '../config/defaults.js';
import { BadNameError, buildQuery } from '../dns/build-query.js';
import { viewMessage } from '../dns/records.js';
import { className, typeName } from '../dns/rr-types.js';
import { parseMessage } from '../dns/wire.js';
import { Resolver } from '../resolver/resolver.js';
import type { SelectionStrategy } from '../resolver/selection.js';
import {
  createClearUpstream,
  createUpstream,
  type SharedUpstreamOptions,
} from '../upstream/create-upstream.js';
import { readCaFile } from '../upstream/ca-file.js';
import { PlainUpstream } from '../upstream/plain-upstream.js';
import { TlsUpstream } from '../upstream/tls-upstream.js';
import type { Upstream } from '../upstream/upstream.js';
import type { UsageProfile } from '../upstream/usage-profile.js';
import { systemClock } from '../util/clock.js';
import { createLogger, type Logger } from '../util/logger.js';
import { lazySpinner } from './lazy-spinner.js';
import { parseQueryArgs, QueryUsageError, type QueryArgs, type TransportLetter } from './query-args.js';
import { failureFacts, QUERY_EXIT } from './query-failure.js';
import {
  failureText,
  formatJson,
  formatQuiet,
  formatText,
  replyWarnings,
  type QueryOutcome,
} from './query-output.js';

export const QUERY_USAGE = `usage: dotstub query [options] [@UPSTREAM ...] [+extension ...] NAME [TYPE] [CLASS]

Asks one question through dotstub's resolver (the configured upstreams, or the @UPSTREAMs given) and says
which upstream answered, over what, and authenticated how. The flags are getdns_query's:
  @IP[@CLEARPORT][#TLSPORT][~AUTHNAME]  an upstream (IP:PORT and [V6]:PORT are the clear port, as getdns)
  -l LTU        transports to use, in order: L TLS, U UDP, T TCP (default L; getdns' -L -E -u -U -T too)
  -K PIN        pin-sha256="BASE64" for every @UPSTREAM (repeatable)
  -m            authentication required (Strict); -n: none (TLS used even if authentication fails)
  -t MS         timeout (default 5000)       -e MS  idle timeout        -P SIZE  padding block (0 off)
  -b SIZE       EDNS buffer size (0: no EDNS) -D / -d  set / clear the DO bit
  -A            address lookup (A and AAAA; also when TYPE is left out)   -H  reverse lookup of an IP
  -j / -J       JSON / indented JSON         -q  answer records only    -s  stub (accepted; always)
  +return_call_reporting (accepted; the facts are always shown)  +specify_class=CLASS (IN, CH)
  --config FILE  the upstreams of a dotstub config file   --ca-file FILE  extra trusted CAs (PEM)
Exit status: 0 answered (any RCODE), 64 usage, 69 network failure, 75 timeout, 77 authentication
failure, 78 config file, 1 other.`;

interface Setup {
  readonly upstreams: readonly Upstream[];
  readonly strategy: SelectionStrategy;
  readonly timeoutMs: number;
}

/**
 * -m: Strict. -n: getdns' NONE (Opportunistic TLS: a failed check still leaves encryption). Neither: Strict
 * when there is something to authenticate against and -l is TLS only; else getdns_query's default, NONE.
 */
function profileFor(args: QueryArgs, address: UpstreamAddress, tlsOnly: boolean): UsageProfile {
  const credentials = args.pins.length > 0 || address.authName !== undefined;
  if (args.authentication === 'required') {
    if (!credentials)
      throw new QueryUsageError(
        `-m (authentication required) needs ~AUTHNAME or -K 'pin-sha256="..."' for @${address.address}`,
      );
    return 'strict';
  }
  if (args.authentication === 'none') return 'opportunistic';
  return credentials && tlsOnly ? 'strict' : 'opportunistic';
}

/** -l: for each transport in order, one upstream per @UPSTREAM (the resolver still tries TLS before clear). */
function commandLineUpstreams(args: QueryArgs, shared: SharedUpstreamOptions): Upstream[] {
  const transports: readonly TransportLetter[] = args.transports ?? ['L'];
  const tlsOnly = transports.every((t) => t === 'L');
  return transports.flatMap((letter) =>
    args.upstreams.map((a): Upstream => {
      const clearSpec = { address: a.address, port: a.clearPort ?? 53, pins: [] };
      if (letter === 'U') return createClearUpstream(clearSpec, shared, 'clear');
      if (letter === 'T')
        return new PlainUpstream({
          spec: clearSpec,
          clock: shared.clock,
          logger: shared.logger,
          transport: 'tcp',
        });
      const profile = profileFor(args, a, tlsOnly);
      // TLS only, as -l asks: unlike the daemon's Opportunistic upstreams, no clear fallback of its own. As in
      // getdns_query, a matching -K pin stands in for the CA (the certificate must still be for ~AUTHNAME).
      return new TlsUpstream({ ...shared, spec: { ...a, pins: args.pins, profile, pinIsTrustAnchor: true } });
    }),
  );
}

async function setup(args: QueryArgs, logger: Logger): Promise<Setup> {
  const base = {
    // Under the whole deadline, so a stalled connect or handshake is reported as such, not as a late answer.
    connectTimeoutMs: Math.min(
      DEFAULTS.connectTimeoutMs,
      Math.max(1, Math.floor((args.timeoutMs ?? DEFAULTS.timeoutMs) * 0.75)),
    ),
    maxConnections: DEFAULTS.maxConnectionsPerUpstream,
    maxInFlightPerConnection: DEFAULTS.maxInFlightPerConnection,
    clock: systemClock,
    logger,
  };
  if (args.upstreams.length > 0) {
    const timeoutMs = args.timeoutMs ?? DEFAULTS.timeoutMs;
    const extraCa = readCaFile(args.caFile, '--ca-file');
    const shared: SharedUpstreamOptions = {
      ...base,
      ...(extraCa === undefined ? {} : { extraCa }),
      idleTimeoutMs: args.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
      stallTimeoutMs: timeoutMs,
      padBlock: args.padBlock ?? DEFAULTS.paddingBlockSize,
    };
    return { upstreams: commandLineUpstreams(args, shared), strategy: 'ordered', timeoutMs };
  }
  // The configured (or embedded) upstreams, wired as the daemon wires them.
  const profile =
    args.authentication === undefined
      ? undefined
      : args.authentication === 'required'
        ? 'strict'
        : 'opportunistic';
  // Loaded only here: with @UPSTREAMs given, the config modules (and the file) are not needed at all.
  const { buildDaemonConfig } = await import('../config/daemon-config.js');
  const config = await buildDaemonConfig({ config: args.config, caFile: args.caFile, profile });
  const timeoutMs = args.timeoutMs ?? config.timeoutMs;
  const extraCa = readCaFile(config.caFile, '--ca-file');
  const shared: SharedUpstreamOptions = {
    ...base,
    ...(extraCa === undefined ? {} : { extraCa }),
    idleTimeoutMs: args.idleTimeoutMs ?? config.idleTimeoutMs,
    stallTimeoutMs: timeoutMs,
    padBlock: args.padBlock ?? config.paddingBlockSize,
  };
  const upstreams = [
    ...config.upstreams.map((spec) => createUpstream(spec, shared).upstream),
    ...(config.fallback ?? []).map((spec) => createClearUpstream(spec, shared, 'fallback')),
  ];
  return { upstreams, strategy: config.selection, timeoutMs };
}

interface Prepared {
  readonly wire: Buffer;
  readonly question: { name: string; type: string; class: string };
}

function prepare(args: QueryArgs): Prepared[] {
  return args.questions.map((q) => {
    let wire: Buffer;
    try {
      wire = buildQuery(q.name, q.type, q.qclass, {
        id: randomInt(0x10000),
        ednsUdpSize: args.ednsUdpSize === 0 ? undefined : args.ednsUdpSize,
        dnssecOk: args.dnssecOk,
      });
    } catch (err) {
      if (err instanceof BadNameError) throw new QueryUsageError(err.message);
      throw err;
    }
    const name = q.name.endsWith('.') ? q.name : `${q.name}.`;
    return { wire, question: { name, type: typeName(q.type), class: className(q.qclass) } };
  });
}

async function ask(resolver: Resolver, p: Prepared): Promise<QueryOutcome> {
  const result = await resolver.resolve(p.wire, parseMessage(p.wire));
  if (result.via === undefined) return { question: p.question, failure: failureFacts(result.error) };
  const { answer } = result.via;
  return {
    question: p.question,
    reply: {
      question: p.question,
      message: viewMessage(result.answer),
      upstream: result.via.upstream,
      transport: answer.transport,
      auth: answer.auth,
      rttMs: result.via.rttMs,
    },
  };
}

function report(args: QueryArgs, outcomes: readonly QueryOutcome[]): number {
  const failed = outcomes.find((o) => o.failure !== undefined)?.failure;
  const exitCode = failed === undefined ? QUERY_EXIT.answered : failed.exitCode;
  const stdout =
    args.output === 'json' || args.output === 'json-pretty'
      ? formatJson(outcomes, exitCode, args.output === 'json-pretty')
      : args.output === 'quiet'
        ? formatQuiet(outcomes)
        : formatText(outcomes);
  process.stdout.write(stdout);
  for (const o of outcomes) {
    if (o.failure !== undefined)
      process.stderr.write(`dotstub query: ${failureText(o.question, o.failure)}\n`);
    // The text output carries its warnings in the footer; elsewhere they go to stderr.
    else if (args.output !== 'text')
      for (const w of replyWarnings(o.reply)) process.stderr.write(`dotstub query: warning: ${w}\n`);
  }
  return exitCode;
}

async function run(args: QueryArgs): Promise<number> {
  const prepared = prepare(args);
  const logger = createLogger({
    level: 'error',
    write: (line) => process.stderr.write(`${line}\n`),
  });
  const { upstreams, strategy, timeoutMs } = await setup(args, logger);
  const resolver = new Resolver({
    upstreams,
    strategy,
    timeoutMs,
    maxOutstanding: prepared.length,
    clock: systemClock,
    logger,
  });
  // A spinner only for a person at a terminal: nothing extra when stderr is piped, so `-j | jq` works.
  // (A terminal that reports no width makes ora clear lines without end: no spinner there either.)
  const spinner =
    process.stderr.isTTY && process.stderr.columns > 0
      ? lazySpinner(
          `asking ${prepared.map((p) => `${p.question.name} ${p.question.type}`).join(', ')}`,
          process.stderr,
        )
      : undefined;
  try {
    const outcomes = await Promise.all(prepared.map((p) => ask(resolver, p)));
    spinner?.stop();
    return report(args, outcomes);
  } finally {
    spinner?.stop();
    resolver.destroy();
  }
}

/** Resolves with the exit status; throws ConfigError (exit 78) for a bad --config or --ca-file. */
export async function queryCommand(argv: readonly string[]): Promise<number> {
  try {
    const args = parseQueryArgs(argv);
    if (args.help) {
      process.stdout.write(`${QUERY_USAGE}\n`);
      return 0;
    }
    return await run(args);
  } catch (err) {
    if (!(err instanceof QueryUsageError)) throw err;
    process.stderr.write(`dotstub query: ${err.message}\n(dotstub query --help lists the options)\n`);
    return QUERY_EXIT.usage;
  }
}
