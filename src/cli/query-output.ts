/**
 * `dotstub query` results for people (dig-like text with a footer saying who answered, over what, and
 * authenticated how) and for programs (JSON, field names documented in README.md, "dotstub query").
 */
import type { MessageView, RecordView } from '../dns/records.js';
import type { AuthInfo, UpstreamTransport } from '../upstream/upstream.js';
import type { FailureFacts } from './query-failure.js';

export interface AskedQuestion {
  readonly name: string;
  readonly type: string;
  readonly class: string;
}

export interface Reply {
  readonly question: AskedQuestion;
  readonly message: MessageView;
  readonly upstream: string;
  readonly transport: UpstreamTransport;
  readonly auth: AuthInfo | undefined;
  readonly rttMs: number;
}

export type QueryOutcome =
  | { readonly question: AskedQuestion; readonly reply: Reply; readonly failure?: undefined }
  | { readonly question: AskedQuestion; readonly reply?: undefined; readonly failure: FailureFacts };

const TRANSPORT_NAMES: Readonly<Record<UpstreamTransport, string>> = { tls: 'TLS', udp: 'UDP', tcp: 'TCP' };

/** What a reader must not miss: clear text, or encryption without authentication. */
export function replyWarnings(reply: Reply): string[] {
  if (reply.transport !== 'tls')
    return [
      `this answer came in CLEAR TEXT over ${TRANSPORT_NAMES[reply.transport]} from ${reply.upstream}: it is not private, and an attacker on the path could have changed it`,
    ];
  if (reply.auth?.authenticated === false)
    return [
      `this answer came over TLS WITHOUT authentication (${reply.auth.failure ?? 'nothing to check'}): encrypted, but ${reply.upstream} is not proven to be who it claims`,
    ];
  return [];
}

function authText(auth: AuthInfo | undefined, upstream: string): string {
  if (auth === undefined) return 'none (clear text)';
  if (!auth.authenticated) return `none: ${auth.failure ?? 'no pin and no name to check'} (encrypted only)`;
  if (auth.resumed) return `${auth.method}, by resuming a session that authenticated earlier`;
  const name = /~(.+)$/.exec(upstream)?.[1];
  const pin =
    auth.pinDepth === undefined
      ? undefined
      : `pin matched the certificate at depth ${auth.pinDepth}${auth.pinDepth === 0 ? " (the server's own)" : ''}${auth.pinSubject === undefined ? '' : `: ${auth.pinSubject}`}`;
  const named = name === undefined || auth.method === 'pin' ? undefined : `name ${name} verified`;
  return [pin, named].filter((s) => s !== undefined).join('; ');
}

function recordLine(r: RecordView): string {
  return `${r.name}\t${r.ttl}\t${r.class}\t${r.type}\t${r.data}`;
}

function section(title: string, records: readonly RecordView[]): string[] {
  return records.length === 0 ? [] : ['', `;; ${title} SECTION:`, ...records.map(recordLine)];
}

function replyText(reply: Reply): string {
  const m = reply.message;
  const q = m.question ?? reply.question;
  const edns = m.edns;
  const lines = [
    `;; ->>HEADER<<- opcode: ${m.opcode}, status: ${m.rcode}, id: ${m.id}`,
    `;; flags: ${m.flags.join(' ')}; QUERY: ${m.question === undefined ? 0 : 1}, ANSWER: ${m.answer.length}, AUTHORITY: ${m.authority.length}, ADDITIONAL: ${m.additional.length + (edns === undefined ? 0 : 1)}`,
    ...(edns === undefined
      ? []
      : [
          '',
          ';; OPT PSEUDOSECTION:',
          `; EDNS: version: ${edns.version}, flags:${edns.flags.map((f) => ` ${f}`).join('')}; udp: ${edns.udpSize}`,
        ]),
    '',
    ';; QUESTION SECTION:',
    `;${q.name}\t\t${q.class}\t${q.type}`,
    ...section('ANSWER', m.answer),
    ...section('AUTHORITY', m.authority),
    ...section('ADDITIONAL', m.additional),
    '',
    `;; SERVER: ${reply.upstream} over ${TRANSPORT_NAMES[reply.transport]}${reply.auth === undefined ? '' : ` (${reply.auth.tlsVersion}, ${reply.auth.resumed ? 'resumed session' : 'new session'})`}`,
    `;; AUTHENTICATION: ${authText(reply.auth, reply.upstream)}`,
    `;; Query time: ${Math.round(reply.rttMs)} ms`,
    ...replyWarnings(reply).map((w) => `;; WARNING: ${w}`),
  ];
  return lines.join('\n');
}

/** One line for stderr: which question failed and why. */
export function failureText(question: AskedQuestion, failure: FailureFacts): string {
  const lines = [`${question.name} ${question.class} ${question.type}: no answer: ${failure.summary}`];
  for (const a of failure.attempts) lines.push(`  ${a.message}`);
  return lines.join('\n');
}

/** The default output: every answered question dig-style, one block each (failures go to stderr). */
export function formatText(outcomes: readonly QueryOutcome[]): string {
  return outcomes.flatMap((o) => (o.reply === undefined ? [] : [`${replyText(o.reply)}\n`])).join('\n');
}

/** -q: the answer records only, one per line. */
export function formatQuiet(outcomes: readonly QueryOutcome[]): string {
  return outcomes
    .flatMap((o) => o.reply?.message.answer ?? [])
    .map((r) => `${recordLine(r)}\n`)
    .join('');
}

function viaJson(reply: Reply): Record<string, unknown> {
  const auth = reply.auth;
  return {
    upstream: reply.upstream,
    transport: reply.transport,
    encrypted: reply.transport === 'tls',
    authenticated: auth?.authenticated ?? false,
    authMethod: auth?.method ?? 'none',
    authFailure: auth?.failure ?? null,
    pinDepth: auth?.pinDepth ?? null,
    pinSubject: auth?.pinSubject ?? null,
    tlsVersion: auth?.tlsVersion ?? null,
    tlsResumed: auth?.resumed ?? null,
    rttMs: Math.round(reply.rttMs),
  };
}

function outcomeJson(o: QueryOutcome): Record<string, unknown> {
  if (o.reply === undefined) {
    const f = o.failure;
    return {
      question: o.question,
      answered: false,
      error: {
        cause: f.cause,
        summary: f.summary,
        exitCode: f.exitCode,
        seenPins: f.seenPins ?? null,
        attempts: f.attempts.map((a) => ({ cause: a.cause, code: a.code ?? null, message: a.message })),
      },
    };
  }
  const m = o.reply.message;
  return {
    question: o.question,
    answered: true,
    rcode: m.rcode,
    id: m.id,
    opcode: m.opcode,
    flags: m.flags,
    answer: m.answer,
    authority: m.authority,
    additional: m.additional,
    edns: m.edns ?? null,
    via: viaJson(o.reply),
    warnings: replyWarnings(o.reply),
  };
}

/** -j (one line) or -J (indented). */
export function formatJson(outcomes: readonly QueryOutcome[], exitCode: number, pretty: boolean): string {
  const doc = {
    status: outcomes.every((o) => o.reply !== undefined) ? 'answered' : 'failed',
    exitCode,
    replies: outcomes.map(outcomeJson),
  };
  return `${JSON.stringify(doc, null, pretty ? 2 : undefined)}\n`;
}
