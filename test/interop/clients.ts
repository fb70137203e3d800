// DNS client peers (kdig, dig, getdns_query, dnsperf) run against a loopback server, with their output parsed.
import { runTool, type ToolResult } from './peers.js';

export type Transport = 'udp' | 'tcp';

export interface ResourceRecord {
  readonly name: string;
  readonly type: string;
  /** Presentation form as the tool printed it (TXT keeps its quotes for dig and kdig). */
  readonly data: string;
}

export interface DnsResult {
  /** RCODE name (NOERROR, NXDOMAIN, SERVFAIL …); undefined when no answer arrived. */
  readonly status: string | undefined;
  readonly flags: readonly string[];
  /** The question section's name exactly as the tool printed it. */
  readonly questionName: string | undefined;
  readonly answers: readonly ResourceRecord[];
  /** The transport the tool reports having used for the answer it printed. */
  readonly transport: 'UDP' | 'TCP' | undefined;
  readonly tool: ToolResult;
}

export interface QueryOptions {
  readonly transport: Transport;
  /** Per-try timeout in seconds. @default 5 */
  readonly timeoutS?: number;
  readonly extra?: readonly string[];
}

/** Parses the text output shared by dig and kdig (header, flags, sections, the server line). */
export function parseDigOutput(tool: ToolResult): DnsResult {
  const out = tool.stdout;
  const status = /status: ([A-Z0-9]+)/.exec(out)?.[1];
  const flags = /flags: ([a-z ]*);/i.exec(out)?.[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
  const transport = /^;; (?:SERVER: |From ).*\((UDP|TCP)\)/m.exec(out)?.[1] as 'UDP' | 'TCP' | undefined;
  let section = '';
  let questionName: string | undefined;
  const answers: ResourceRecord[] = [];
  for (const line of out.split('\n')) {
    const heading = /^;; ([A-Z]+) SECTION:/.exec(line);
    if (heading) {
      section = heading[1] ?? '';
      continue;
    }
    if (line.trim() === '') {
      section = '';
      continue;
    }
    if (section === 'QUESTION' && questionName === undefined) {
      questionName = line.replace(/^;+\s*/, '').split(/\s+/)[0];
    } else if (section === 'ANSWER' && !line.startsWith(';')) {
      const [name = '', , , type = '', ...data] = line.trim().split(/\s+/);
      answers.push({ name, type, data: data.join(' ') });
    }
  }
  return { status, flags, questionName, answers, transport, tool };
}

/**
 * kdig or dig @127.0.0.1 -p PORT NAME TYPE over UDP (+ignore: no TCP retry on TC) or TCP, one try. The two
 * tools take the same query flags except for timeout and retries.
 */
async function digLike(
  tool: 'kdig' | 'dig',
  port: number,
  name: string,
  type: string,
  options: QueryOptions,
): Promise<DnsResult> {
  const timeoutS = options.timeoutS ?? 5;
  const args = [
    '@127.0.0.1',
    '-p',
    String(port),
    name,
    type,
    options.transport === 'tcp' ? '+tcp' : '+notcp',
    ...(options.transport === 'udp' ? ['+ignore'] : []),
    ...(tool === 'kdig' ? [`+timeout=${timeoutS}`, '+retry=0'] : [`+time=${timeoutS}`, '+tries=1']),
    ...(options.extra ?? []),
  ];
  return parseDigOutput(await runTool(tool, args, (timeoutS + 10) * 1000));
}

export const kdig = (port: number, name: string, type: string, options: QueryOptions): Promise<DnsResult> =>
  digLike('kdig', port, name, type, options);

export const dig = (port: number, name: string, type: string, options: QueryOptions): Promise<DnsResult> =>
  digLike('dig', port, name, type, options);

const RCODES: Record<number, string> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
};
const TYPES: Record<number, string> = { 1: 'A', 5: 'CNAME', 16: 'TXT', 28: 'AAAA', 65: 'HTTPS' };

interface GetdnsRecord {
  name?: string;
  type?: number;
  rdata?: { ipv4_address?: string; ipv6_address?: string; txt_strings?: string[] };
}
interface GetdnsReply {
  header?: { rcode?: number; tc?: number; qr?: number; aa?: number; rd?: number; ra?: number };
  question?: { qname?: string };
  answer?: GetdnsRecord[];
}
interface GetdnsResponse {
  status?: number;
  replies_tree?: GetdnsReply[];
}

function getdnsRecord(rr: GetdnsRecord): ResourceRecord {
  const type = rr.type === undefined ? '' : (TYPES[rr.type] ?? `TYPE${rr.type}`);
  const rdata = rr.rdata ?? {};
  const data =
    rdata.ipv4_address ?? rdata.ipv6_address ?? (rdata.txt_strings ?? []).map((s) => `"${s}"`).join(' ');
  return { name: rr.name ?? '', type, data };
}

/** getdns_query in stub mode against @127.0.0.1@PORT with one transport (-l U or -l T), JSON output. */
export async function getdnsQuery(
  port: number,
  name: string,
  type: string,
  options: QueryOptions,
): Promise<DnsResult> {
  const timeoutS = options.timeoutS ?? 5;
  const args = [
    '-s',
    `@127.0.0.1@${port}`,
    '-l',
    options.transport === 'tcp' ? 'T' : 'U',
    '-t',
    String(timeoutS * 1000),
    '-j',
    ...(options.extra ?? []),
    name,
    type,
  ];
  const tool = await runTool('getdns_query', args, (timeoutS + 10) * 1000);
  let parsed: GetdnsResponse = {};
  try {
    // replies_full is sometimes printed as a string with octal escapes, which is not JSON; it is not needed.
    parsed = JSON.parse(
      tool.stdout.replace(/"replies_full":\[.*?\],"replies_tree":/s, '"replies_tree":'),
    ) as GetdnsResponse;
  } catch {
    // No JSON (e.g. a timeout message): status stays undefined and the assertion shows the output.
  }
  const reply = parsed.replies_tree?.[0];
  const header = reply?.header ?? {};
  const rcode = header.rcode;
  const flagNames = ['qr', 'aa', 'tc', 'rd', 'ra'] as const;
  return {
    status: rcode === undefined ? undefined : (RCODES[rcode] ?? `RCODE${rcode}`),
    flags: flagNames.filter((f) => header[f] === 1),
    questionName: reply?.question?.qname,
    answers: (reply?.answer ?? []).map(getdnsRecord),
    transport: reply ? (options.transport === 'tcp' ? 'TCP' : 'UDP') : undefined,
    tool,
  };
}

export interface DnsperfResult {
  readonly sent: number | undefined;
  readonly completed: number | undefined;
  readonly lost: number | undefined;
  /** e.g. { NOERROR: 18000, NXDOMAIN: 2000 } */
  readonly rcodes: Readonly<Record<string, number>>;
  readonly qps: number | undefined;
  readonly avgLatencyS: number | undefined;
  readonly tool: ToolResult;
}

function statNumber(out: string, label: string): number | undefined {
  const match = new RegExp(`${label}:\\s+([0-9.]+)`).exec(out);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

export function parseDnsperf(tool: ToolResult): DnsperfResult {
  const out = tool.stdout + '\n' + tool.stderr;
  const rcodes: Record<string, number> = {};
  const codes = /Response codes:\s+(.*)/.exec(out)?.[1] ?? '';
  for (const m of codes.matchAll(/([A-Z]+) (\d+) \(/g)) rcodes[m[1] ?? ''] = Number(m[2]);
  return {
    sent: statNumber(out, 'Queries sent'),
    completed: statNumber(out, 'Queries completed'),
    lost: statNumber(out, 'Queries lost'),
    rcodes,
    qps: statNumber(out, 'Queries per second'),
    avgLatencyS: statNumber(out, 'Average Latency \\(s\\)'),
    tool,
  };
}

export interface DnsperfOptions {
  readonly queryFile: string;
  /** Passes through the file (-n). */
  readonly runs: number;
  readonly maxQps: number;
  readonly clients: number;
  readonly mode: Transport;
  /** -l: dnsperf stops after this many seconds whatever happened. */
  readonly timeLimitS: number;
}

export async function dnsperf(port: number, o: DnsperfOptions): Promise<DnsperfResult> {
  const args = [
    ...['-s', '127.0.0.1', '-p', String(port), '-m', o.mode, '-d', o.queryFile],
    ...['-n', String(o.runs), '-c', String(o.clients), '-l', String(o.timeLimitS), '-Q', String(o.maxQps)],
    ...['-t', '5'],
  ];
  return parseDnsperf(await runTool('dnsperf', args, (o.timeLimitS + 30) * 1000));
}
