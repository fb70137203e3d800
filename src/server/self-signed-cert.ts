/**
 * The DoT listener's own certificate when the config names none (as Knot Resolver's net.tls does): an
 * ECDSA P-256 key made by node:crypto and a self-signed certificate assembled with node-forge's ASN.1
 * helpers. forge's pki signs only with RSA keys, so its TBSCertificate gets the EC key and the
 * ecdsa-with-SHA256 algorithm spliced in and node:crypto signs it. Clients authenticate it by its SPKI
 * pin (`dotstub pin --self`), never by a CA, so self-signed is what RFC 7858 sec. 4.2 pinning expects.
 */
import { Buffer } from 'node:buffer';
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import forge from 'node-forge';
import { selfSignedPaths } from './self-signed-paths.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';

export interface SelfSignedOptions {
  /** Where the pair lives (created 0700). */
  readonly dir: string;
  /** IP addresses the listener serves on, added to the subjectAltName with the host name and localhost. */
  readonly ips: readonly string[];
  readonly now?: () => Date;
  /** @default 365 */
  readonly validityDays?: number;
  /** Regenerate when fewer days than this remain. @default 30 */
  readonly renewBeforeDays?: number;
}

export interface CertKeyPem {
  readonly cert: string;
  readonly key: string;
}

export interface SelfSigned extends CertKeyPem {
  /** True when this call made a new pair (first start, expiry near, or an unusable pair on disk). */
  readonly created: boolean;
  readonly certPath: string;
}

/** Reuses the stored pair while it is valid for more than renewBeforeDays, otherwise makes a new one. */
export async function loadOrCreateSelfSigned(options: SelfSignedOptions): Promise<SelfSigned> {
  const now = options.now?.() ?? new Date();
  const paths = selfSignedPaths(options.dir);
  const existing = await readUsable(paths, now, options.renewBeforeDays ?? 30);
  if (existing !== undefined) return { ...existing, created: false, certPath: paths.cert };
  const made = makeSelfSigned(subjectNames(options.ips), now, options.validityDays ?? 365);
  await mkdir(options.dir, { recursive: true, mode: 0o700 });
  await chmod(options.dir, 0o700);
  // Key first, each through a temporary file and a rename, so a crash never leaves a cert without its key.
  await writePrivate(paths.key, made.key);
  await writePrivate(paths.cert, made.cert);
  return { ...made, created: true, certPath: paths.cert };
}

async function writePrivate(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

async function readUsable(
  paths: { cert: string; key: string },
  now: Date,
  renewBeforeDays: number,
): Promise<CertKeyPem | undefined> {
  try {
    const [cert, key] = await Promise.all([readFile(paths.cert, 'utf8'), readFile(paths.key, 'utf8')]);
    const x509 = new X509Certificate(cert);
    if (!x509.checkPrivateKey(createPrivateKey(key))) return undefined;
    const notBefore = Date.parse(x509.validFrom);
    const notAfter = Date.parse(x509.validTo);
    if (notBefore > now.getTime() || notAfter - now.getTime() < renewBeforeDays * DAY_MS) return undefined;
    return { cert, key };
  } catch {
    // Missing, unreadable or corrupt: a fresh pair replaces it.
    return undefined;
  }
}

/** In node-forge's pki but missing from its type definitions. */
interface ForgeTbs {
  getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1;
}

interface SubjectNames {
  readonly dns: string[];
  readonly ips: string[];
}

function subjectNames(ips: readonly string[]): SubjectNames {
  const host = hostname().toLowerCase();
  const dns = [...new Set([host, 'localhost'].filter((n) => /^[a-z0-9.-]+$/.test(n)))];
  const unspecified = new Set(['0.0.0.0', '::']);
  return { dns, ips: [...new Set(['127.0.0.1', '::1', ...ips.filter((ip) => !unspecified.has(ip))])] };
}

function serialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01; // positive and non-zero (RFC 5280 sec. 4.1.2.2)
  return bytes.toString('hex');
}

/** A new ECDSA P-256 key and a certificate for it valid from an hour ago for `validityDays`. */
export function makeSelfSigned(names: SubjectNames, now: Date, validityDays: number): CertKeyPem {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const cert = forge.pki.createCertificate();
  // forge's TBS encoder needs an RSA key object; a placeholder is encoded and then replaced below.
  cert.publicKey = forge.pki.rsa.setPublicKey(new forge.jsbn.BigInteger('3'), new forge.jsbn.BigInteger('3'));
  cert.serialNumber = serialHex();
  cert.validity.notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  cert.validity.notAfter = new Date(now.getTime() + validityDays * DAY_MS);
  const subject = [{ name: 'commonName', value: names.dns[0] ?? 'localhost' }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    {
      name: 'subjectAltName',
      altNames: [
        ...names.dns.map((value) => ({ type: 2, value })),
        ...names.ips.map((ip) => ({ type: 7, ip })),
      ],
    },
  ]);
  const { asn1 } = forge;
  // RFC 5758 sec. 3.2: ecdsa-with-SHA256 has no parameters.
  const algorithm = (): forge.asn1.Asn1 =>
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
      asn1.create(asn1.Class.UNIVERSAL, asn1.Type.OID, false, asn1.oidToDer(ECDSA_WITH_SHA256).getBytes()),
    ]);
  // Also a placeholder: the signature algorithm field is replaced with ecdsa-with-SHA256.
  cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption ?? '1.2.840.113549.1.1.11';
  const tbs = (forge.pki as unknown as ForgeTbs).getTBSCertificate(cert);
  const fields = tbs.value as forge.asn1.Asn1[];
  const spkiDer = publicKey.export({ type: 'spki', format: 'der' });
  // TBSCertificate: [0] version, serial, signature, issuer, validity, subject, subjectPublicKeyInfo, [3] ext.
  fields[2] = algorithm();
  fields[6] = asn1.fromDer(forge.util.createBuffer(spkiDer.toString('binary')));
  const tbsDer = Buffer.from(asn1.toDer(tbs).getBytes(), 'binary');
  const signature = sign('sha256', tbsDer, privateKey);
  const certificate = asn1.create(asn1.Class.UNIVERSAL, asn1.Type.SEQUENCE, true, [
    tbs,
    algorithm(),
    asn1.create(asn1.Class.UNIVERSAL, asn1.Type.BITSTRING, false, `\0${signature.toString('binary')}`),
  ]);
  const der = Buffer.from(asn1.toDer(certificate).getBytes(), 'binary');
  const pem = `-----BEGIN CERTIFICATE-----\n${(der.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`;
  return { cert: pem, key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}
