/**
 * `dotstub pin` reports: the chain as presented (leaf first), each hop checked as the Strict profile checks
 * it (RFC 7858 App. A: issued by AND signed by the next certificate), the pins, and a suggested pinset.
 * Text for people, JSON (field names documented in README.md, "dotstub pin") for scripts.
 */
import { X509Certificate } from 'node:crypto';
import { spkiPin } from '../upstream/spki-pin.js';

export type ChainPosition = 'leaf' | 'intermediate' | 'root';

export interface ChainEntry {
  readonly depth: number;
  readonly position: ChainPosition;
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly expired: boolean;
  readonly selfSigned: boolean;
  readonly pin: string;
  readonly pinDirective: string;
  /** Provably issued and signed by the next certificate; null for the last one. */
  readonly issuedByNext: boolean | null;
}

/** What the handshake showed, for the informational lines; null when the chain came from a file. */
export interface TlsFacts {
  readonly address: string;
  readonly port: number;
  readonly servername: string | null;
  readonly alpn: string | null;
  readonly protocol: string | null;
  readonly caTrusted: boolean;
  readonly caError: string | null;
  readonly authName: string | null;
  readonly nameMatches: boolean | null;
  readonly nameError: string | null;
}

export interface PinReport {
  /** `HOST:PORT` that was contacted, or the PEM file's path. */
  readonly source: string;
  readonly tls: TlsFacts | null;
  readonly chain: readonly ChainEntry[];
  readonly chainVerifies: boolean;
  readonly suggestedPins: readonly string[];
  readonly warnings: readonly string[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

function oneLine(dn: string): string {
  return dn.split('\n').join(', ');
}

function isoDate(text: string): string {
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? text : date.toISOString();
}

function isSelfSigned(cert: X509Certificate): boolean {
  return cert.checkIssued(cert) && cert.verify(cert.publicKey);
}

/** Why `cert` is not proven to come from `next`, or undefined when it is (name/AKI link AND signature). */
function hopProblem(cert: X509Certificate, next: X509Certificate): string | undefined {
  if (!cert.checkIssued(next)) return "its issuer is not that certificate's subject";
  // checkIssued compares names and key identifiers only: the signature is what proves the link.
  if (!cert.verify(next.publicKey)) return "its signature does not verify with that certificate's key";
  return undefined;
}

function positionOf(cert: X509Certificate, depth: number): ChainPosition {
  if (depth === 0) return 'leaf';
  return cert.checkIssued(cert) ? 'root' : 'intermediate';
}

function describeEntry(cert: X509Certificate, depth: number, next: X509Certificate | undefined): ChainEntry {
  const pin = spkiPin(cert);
  const notAfter = isoDate(cert.validTo);
  return {
    depth,
    position: positionOf(cert, depth),
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    notBefore: isoDate(cert.validFrom),
    notAfter,
    expired: new Date(notAfter).getTime() < Date.now(),
    selfSigned: isSelfSigned(cert),
    pin,
    pinDirective: `pin-sha256="${pin}"`,
    issuedByNext: next === undefined ? null : hopProblem(cert, next) === undefined,
  };
}

/** Builds the report for a chain given leaf first, exactly as it was presented. */
export function buildReport(
  source: string,
  chain: readonly X509Certificate[],
  tls: TlsFacts | null,
): PinReport {
  const entries: ChainEntry[] = [];
  const warnings: string[] = [];
  chain.forEach((cert, depth) => {
    const next = chain[depth + 1];
    entries.push(describeEntry(cert, depth, next));
    const problem = next === undefined ? undefined : hopProblem(cert, next);
    if (problem !== undefined) {
      warnings.push(
        `certificate [${depth}] does not verify against certificate [${depth + 1}]: ${problem}; dotstub never walks past this hop (RFC 7858 App. A), so pins of [${depth + 1}] and above cannot authenticate this server`,
      );
    }
  });
  const [leaf, issuer] = entries;
  const suggestedPins: string[] = [];
  if (leaf !== undefined) suggestedPins.push(leaf.pinDirective);
  if (leaf?.issuedByNext === true && issuer !== undefined) suggestedPins.push(issuer.pinDirective);
  return {
    source,
    tls,
    chain: entries,
    chainVerifies: entries.every((e) => e.issuedByNext !== false),
    suggestedPins,
    warnings,
  };
}

function expiry(entry: ChainEntry): string {
  const days = Math.floor((new Date(entry.notAfter).getTime() - Date.now()) / DAY_MS);
  if (Number.isNaN(days)) return entry.notAfter;
  return entry.expired
    ? `${entry.notAfter} (EXPIRED)`
    : `${entry.notAfter} (in ${days} day${days === 1 ? '' : 's'})`;
}

function tlsLines(tls: TlsFacts): string[] {
  const negotiated = [
    tls.servername === null ? 'no SNI' : `SNI ${tls.servername}`,
    tls.alpn === null ? 'no ALPN' : `ALPN ${tls.alpn}`,
    tls.protocol ?? 'unknown TLS version',
  ].join(', ');
  const lines = [
    `connected to ${tls.address}#${tls.port} (${negotiated})`,
    tls.caTrusted
      ? "CA check: the chain validates against Node's CA store (informational)"
      : `CA check: not trusted by Node's CA store (${tls.caError ?? 'unknown reason'}); fine for pins, --ca-file adds a private CA (informational)`,
  ];
  if (tls.authName !== null) {
    lines.push(
      tls.nameMatches === true
        ? `name check: the certificate is valid for ${tls.authName} (informational)`
        : `name check: the certificate is NOT valid for ${tls.authName}: ${tls.nameError ?? ''} (informational)`,
    );
  }
  return lines;
}

function entryLines(entry: ChainEntry): string[] {
  const label = `[${entry.depth}] ${entry.position}${entry.selfSigned ? ' (self-signed)' : ''}`;
  const lines = [
    label,
    `    subject: ${entry.subject}`,
    `    issuer:  ${entry.issuer}`,
    `    expires: ${expiry(entry)}`,
    `    ${entry.pinDirective}`,
  ];
  if (entry.issuedByNext !== null) {
    lines.push(
      `    issued and signed by [${entry.depth + 1}]: ${entry.issuedByNext ? 'yes' : 'NO, does not verify'}`,
    );
  }
  return lines;
}

function pinsetLines(report: PinReport): string[] {
  const [leaf, backup] = report.suggestedPins;
  if (leaf === undefined) return [];
  const lines = [
    backup === undefined
      ? 'Suggested pinset (the leaf key only: no verified issuer to serve as the backup):'
      : "Suggested pinset (the leaf's key, and its issuer's key as the backup):",
    ...report.suggestedPins.map((p) => `  -K '${p}'`),
    `  config: "pins": ${JSON.stringify(report.suggestedPins)}`,
    'Why a backup pin (RFC 7858 sec. 4.2): when the server changes its key, a pinset that already holds another key of its chain still matches, so you are not cut off.',
  ];
  if (backup === undefined)
    lines.push('Add the pin of the key the operator will roll over to, once you know it.');
  else
    lines.push(
      "Caveat: pinning a public CA's key trusts every certificate that CA issues; pair it with ~AUTHNAME, or pin a key the operator controls.",
    );
  return lines;
}

/** The human report, one block per certificate, then warnings and the suggested pinset. */
export function formatText(report: PinReport): string {
  const lines = report.tls === null ? [`certificates in ${report.source}`] : tlsLines(report.tls);
  for (const entry of report.chain) lines.push('', ...entryLines(entry));
  lines.push('');
  for (const warning of report.warnings) lines.push(`WARNING: ${warning}`);
  if (report.warnings.length > 0) lines.push('');
  lines.push(...pinsetLines(report));
  return `${lines.join('\n')}\n`;
}

export function formatJson(report: PinReport): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}
