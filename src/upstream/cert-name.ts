/**
 * Is this certificate for the authentication name (RFC 8310 sec. 8.1, with RFC 6125's rules)? Checked by
 * OpenSSL's X509_check_host / X509_check_ip through node:crypto: the check getdns (stubby) and unbound make,
 * with partial wildcards ("b*z.example.org") refused as getdns refuses them. Node's tls.checkServerIdentity
 * would do too, but it starts with net.isIP(name), whose IPv6 regexp costs 10 ms on its first two runs
 * (src/util/ip-literal.ts), and a fresh daemon checks a name before its first answer.
 */
import type { Buffer } from 'node:buffer';
import { X509Certificate } from 'node:crypto';
import { isIpLiteral } from '../util/ip-literal.js';

/** Undefined when the certificate (DER) is for `name`, else what it is for ("it is for DNS:a, DNS:b"). */
export function nameMismatch(name: string, der: Buffer): string | undefined {
  const cert = new X509Certificate(der);
  // A fully qualified name's final dot is not part of the names in certificates.
  const host = name.endsWith('.') ? name.slice(0, -1) : name;
  const matched = isIpLiteral(host)
    ? cert.checkIP(host)
    : cert.checkHost(host, { subject: 'default', partialWildcards: false });
  if (matched !== undefined) return undefined;
  const names = cert.subjectAltName;
  return names === undefined
    ? `it has no subjectAltName and its subject is ${cert.subject.replace(/\n/g, ', ')}`
    : `it is for ${names}`;
}
