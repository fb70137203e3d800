/**
 * SPKI pins (RFC 7469 sec. 2.4: base64 of SHA-256 over the DER SubjectPublicKeyInfo) and the chain walk that
 * checks them (RFC 7858 App. A): move up the presented chain only after proving each certificate was issued
 * and signed by the next, so an attacker's leaf sent beside the genuine pinned CA never matches.
 */
import { Buffer } from 'node:buffer';
import { createHash, X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate } from 'node:tls';
import { ConfigError } from '../errors.js';

const PIN_PATTERN = /^\s*pin-sha256\s*=\s*"([^"]*)"\s*$/i;
const UNKNOWN_ALGORITHM = /^\s*pin-([a-z0-9-]+)\s*=/i;

/** The pin of a certificate, as RFC 7469 writes it without the directive: 44 base64 characters. */
export function spkiPin(cert: X509Certificate): string {
  const der = cert.publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

/**
 * Parses `pin-sha256="BASE64"` (directive name case-insensitive, spaces around `=` allowed, RFC 7469
 * sec. 2.1.1) or a bare base64 value (stubby's `value:` form). Throws ConfigError naming `path`.
 */
export function parsePin(input: string, path = 'pin'): string {
  const match = PIN_PATTERN.exec(input);
  if (match === null && UNKNOWN_ALGORITHM.test(input)) {
    throw new ConfigError(
      path,
      `unsupported pin algorithm in ${JSON.stringify(input)} (only pin-sha256 is defined by RFC 7469)`,
    );
  }
  const value = (match?.[1] ?? input).trim();
  const bytes = /^[A-Za-z0-9+/]+={0,2}$/.test(value) ? Buffer.from(value, 'base64') : Buffer.alloc(0);
  if (bytes.length !== 32 || bytes.toString('base64') !== value) {
    throw new ConfigError(
      path,
      `not a pin-sha256 value: ${JSON.stringify(input)} (expected pin-sha256="<44 base64 chars>", the SHA-256 of the server's SPKI; the README shows how to read it from a server)`,
    );
  }
  return value;
}

export interface PinCheckResult {
  readonly matched: boolean;
  /** Depth in the chain of the certificate whose key matched (0 = the server's own certificate). */
  readonly depth?: number;
  readonly subject?: string;
  /** The pins of every certificate the walk proved to be a chain, for the error message. */
  readonly seenPins: readonly string[];
}

/** The presented chain, leaf first, as Node links it (by name: not yet proven). */
export function presentedChain(peer: DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  // Node's types promise a certificate at every link; at runtime the last one may be missing or `{}`.
  let node = peer as Partial<DetailedPeerCertificate> | undefined;
  const seen = new Set<unknown>();
  while (node?.raw !== undefined && !seen.has(node) && chain.length < 16) {
    seen.add(node);
    chain.push(new X509Certificate(node.raw));
    node = node.issuerCertificate;
  }
  return chain;
}

/** Walks leaf to root and stops at the first certificate not provably issued and signed by the next. */
export function checkPins(peer: DetailedPeerCertificate, pins: readonly string[]): PinCheckResult {
  const chain = presentedChain(peer);
  const seenPins: string[] = [];
  for (let depth = 0; depth < chain.length; depth++) {
    const cert = chain[depth];
    if (cert === undefined) break;
    const pin = spkiPin(cert);
    seenPins.push(pin);
    if (pins.includes(pin))
      return { matched: true, depth, subject: cert.subject.replace(/\n/g, ', '), seenPins };
    const issuer = chain[depth + 1];
    // RFC 7858 App. A: only a proven issuer may be considered next.
    if (issuer === undefined || !cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) break;
  }
  return { matched: false, seenPins };
}

/** A stable digest of a pinset, part of the TLS session cache key (a resumed session skips the pin check). */
export function pinsetKey(pins: readonly string[]): string {
  return createHash('sha256')
    .update([...pins].sort().join(','))
    .digest('base64')
    .slice(0, 16);
}
