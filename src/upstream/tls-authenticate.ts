/**
 * The Strict profile's identity check (RFC 8310 sec. 5, RFC 7858 sec. 4.2), run in the secureConnect
 * handler before a single query byte is written. Node verifies nothing for us here: with
 * `rejectUnauthorized: false` it only reports, and on a resumed TLS 1.3 session it shows no certificate.
 */
import type { DetailedPeerCertificate, TLSSocket } from 'node:tls';
import { AuthenticationError, PinMismatchError, type AuthFailureReason } from '../errors.js';
import { nameMismatch } from './cert-name.js';
import { checkPins } from './spki-pin.js';
import type { AuthInfo, UpstreamSpec } from './upstream.js';

const FIXES: Record<AuthFailureReason, string> = {
  'pin-mismatch': 'if the server changed its key on purpose, pin one of the keys it presented',
  'name-mismatch': 'set the authentication name (~NAME) to a name the certificate is issued for',
  expired:
    "the server's certificate has expired: tell its operator, or pin its key instead of using its name",
  'not-yet-valid': "check this machine's clock; the server's certificate is not valid yet",
  // SELF_SIGNED_CERT_IN_CHAIN lands here too: a chain that ends in a root we do not trust.
  untrusted: 'add the issuing CA with --ca-file, or pin the server key with -K',
  'self-signed':
    'pin the server key with -K \'pin-sha256="..."\' (the README shows how to read it), or add its CA with --ca-file',
  'no-certificate': 'the server sent no certificate; it cannot be used in the Strict profile',
  protocol: 'the server does not speak TLS 1.2 or newer',
};

/**
 * Node's verdict on the chain, as a reason. Not the name: tls-connect.ts turns Node's name check off
 * (requireName below is ours), so ERR_TLS_CERT_ALTNAME_INVALID never reaches here.
 */
function reasonOf(code: string): AuthFailureReason {
  switch (code) {
    case 'CERT_HAS_EXPIRED':
      return 'expired';
    case 'CERT_NOT_YET_VALID':
      return 'not-yet-valid';
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
      return 'self-signed';
    default:
      return 'untrusted';
  }
}

function fail(target: string, reason: AuthFailureReason, detail: string): never {
  throw new AuthenticationError(target, reason, detail, FIXES[reason]);
}

function checkName(target: string, socket: TLSSocket, name: string, peer: DetailedPeerCertificate): void {
  if (!socket.authorized) {
    const error: unknown = socket.authorizationError;
    const code =
      typeof error === 'string'
        ? error
        : error instanceof Error
          ? ((error as NodeJS.ErrnoException).code ?? error.message)
          : String(error);
    fail(target, reasonOf(code), `certificate for ${name} not accepted (${code})`);
  }
  // Node's verdict covers the chain only: tls-connect.ts turns its name check off.
  requireName(target, name, peer);
}

/** Fails unless the certificate is for `name` (cert-name.ts), saying what it is for. */
function requireName(target: string, name: string, peer: DetailedPeerCertificate): void {
  const mismatch = nameMismatch(name, peer.raw);
  if (mismatch !== undefined)
    fail(target, 'name-mismatch', `the certificate is not for ${name}: ${mismatch}`);
}

/** A matching pin stands in for the CA (getdns_query's way): see pinAnchored. */
const pinIsAnchor = (spec: UpstreamSpec): boolean => spec.pinIsTrustAnchor === true && spec.pins.length > 0;

/**
 * Whether authenticate() will ask for the CAs' verdict on this upstream: only for an authentication name
 * checked against the CAs. Pins alone, or a pin standing in for the CA, compare keys; with neither there
 * is nothing to check. A context without a CA store is enough for the others (tls-upstream.ts).
 */
export function needsCaStore(spec: UpstreamSpec): boolean {
  return spec.authName !== undefined && !pinIsAnchor(spec);
}

/**
 * `pinIsTrustAnchor` (getdns_query's way): a matching pin stands in for the CA, and the certificate must
 * still be for the authentication name when there is one. Only for a fresh handshake with pins.
 */
function pinAnchored(
  socket: TLSSocket,
  spec: UpstreamSpec,
  target: string,
  peer: DetailedPeerCertificate,
): AuthInfo {
  const pins = checkPins(peer, spec.pins);
  if (!pins.matched) throw new PinMismatchError(target, pins.seenPins);
  if (spec.authName !== undefined) requireName(target, spec.authName, peer);
  return {
    authenticated: true,
    method: spec.authName === undefined ? 'pin' : 'pin+name',
    resumed: false,
    tlsVersion: socket.getProtocol() ?? 'unknown',
    cipher: socket.getCipher().name,
    pinDepth: pins.depth,
    pinSubject: pins.subject,
  };
}

/**
 * Throws AuthenticationError unless the connection satisfies the spec: pins only (self-signed allowed),
 * name only (PKIX plus name), or both (both required). `resumable` says whether a resumed session came from
 * our cache, which holds only sessions of authenticated handshakes with this pinset and name.
 */
export function authenticate(
  socket: TLSSocket,
  spec: UpstreamSpec,
  target: string,
  resumable: boolean,
): AuthInfo {
  const tlsVersion = socket.getProtocol() ?? 'unknown';
  const cipher = socket.getCipher().name;
  if (spec.pins.length === 0 && spec.authName === undefined) {
    // Nothing to check against: only the Opportunistic profile allows such an upstream (RFC 8310 sec. 5).
    fail(target, 'no-certificate', 'no pins and no authentication name are configured');
  }
  const method =
    spec.pins.length > 0 && spec.authName !== undefined ? 'pin+name' : spec.pins.length > 0 ? 'pin' : 'name';
  if (socket.isSessionReused()) {
    if (!resumable) fail(target, 'no-certificate', 'a session was resumed that this client did not offer');
    return { authenticated: true, method, resumed: true, tlsVersion, cipher };
  }
  const peer = socket.getPeerCertificate(true);
  // A fresh handshake with no certificate shows `{}` here despite the type (the N3 trap).
  if ((peer as Partial<DetailedPeerCertificate>).raw === undefined)
    fail(target, 'no-certificate', 'no certificate was presented');
  if (pinIsAnchor(spec)) return pinAnchored(socket, spec, target, peer);
  if (spec.authName !== undefined) checkName(target, socket, spec.authName, peer);
  if (spec.pins.length === 0) return { authenticated: true, method, resumed: false, tlsVersion, cipher };
  const pins = checkPins(peer, spec.pins);
  if (!pins.matched) throw new PinMismatchError(target, pins.seenPins);
  return {
    authenticated: true,
    method,
    resumed: false,
    tlsVersion,
    cipher,
    pinDepth: pins.depth,
    pinSubject: pins.subject,
  };
}
