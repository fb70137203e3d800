// Test PKI minted at test time: certificates are built with node-forge; the RSA 2048 key pairs come
// from node:crypto (far faster than forge's pure-JS keygen) and the TBS bytes forge produces are
// signed with node:crypto too (forge's JS RSA signing costs ~200 ms per cert).
//
// Cost: six RSA 2048 keygens take 1-4 s on a small machine, and node --test runs each test file in
// its own process, so the KEYS (never the certificates, which are re-minted with fresh dates) are
// also cached on disk in os.tmpdir()/dotstub-test-keys-v1.json. DOTSTUB_TEST_KEY_CACHE=0 disables it.
// Within a process the whole PKI is cached at module level.
//
// Key reuse (deliberate, to keep generation cheap):
//   - leaf, expired, notYetValid and wrongName share ONE key, so they share a pin (leaf.pin).
//   - ca, selfSigned, attacker, otherCa and otherLeaf each have their own key.
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';

export interface PemPair {
  /** PEM certificate. */
  cert: string;
  /** PEM private key (PKCS#1 "RSA PRIVATE KEY"). */
  key: string;
  /** base64(sha256(DER SubjectPublicKeyInfo)) of this certificate's key. */
  pin: string;
}

export interface PemLeaf extends PemPair {
  /** Leaf PEM followed by its issuer's PEM, ready for a server's `cert` option. */
  chain: string;
}

export interface TestPki {
  /** Self-signed CA, CN "dotstub test CA". */
  ca: PemPair;
  /** dot.test + IP SANs 127.0.0.1 and ::1, issued by `ca`, valid now-1d..now+30d. */
  leaf: PemLeaf;
  /** Issued by `ca` for dot.test, valid now-10d..now-1d. Same key/pin as leaf. */
  expired: PemLeaf;
  /** Issued by `ca` for dot.test, valid now+1d..now+30d. Same key/pin as leaf. */
  notYetValid: PemLeaf;
  /** Issued by `ca` for other.test (no IP SANs). Same key/pin as leaf. */
  wrongName: PemLeaf;
  /** Self-signed end-entity cert for dot.test (cA=false), own key. */
  selfSigned: PemPair;
  /**
   * Forged chain (N1): leaf for dot.test whose issuer DN equals the genuine CA's subject DN (and whose
   * authorityKeyIdentifier equals the CA's subjectKeyIdentifier) but which is signed by the attacker's
   * own key. `chain` = forged leaf + GENUINE CA cert. `pin` is the attacker's key.
   */
  attacker: PemLeaf;
  /** A second, untrusted CA, CN "dotstub other CA". */
  otherCa: PemPair;
  /** Issued by `otherCa` for dot.test + IP SANs, own key; chain = otherLeaf + otherCa. */
  otherLeaf: PemLeaf;
}

const DAY_MS = 24 * 60 * 60 * 1000;

interface KeyPair {
  publicKey: forge.pki.rsa.PublicKey;
  pem: string;
}

const KEY_OPTIONS = {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
} as const;
const KEY_COUNT = 6;

function toKeyPair(pem: string): KeyPair {
  const forgeKey = forge.pki.privateKeyFromPem(pem);
  return { publicKey: forge.pki.rsa.setPublicKey(forgeKey.n, forgeKey.e), pem };
}

const KEY_CACHE = join(tmpdir(), 'dotstub-test-keys-v1.json');

function readKeyCache(): string[] | undefined {
  try {
    const pems: unknown = JSON.parse(readFileSync(KEY_CACHE, 'utf8'));
    if (!Array.isArray(pems) || pems.length !== KEY_COUNT) return undefined;
    return pems.every((p) => typeof p === 'string' && p.includes('RSA PRIVATE KEY'))
      ? (pems as string[])
      : undefined;
  } catch {
    return undefined;
  }
}

function loadKeys(): KeyPair[] {
  const useCache = process.env.DOTSTUB_TEST_KEY_CACHE !== '0';
  const cachedPems = useCache ? readKeyCache() : undefined;
  if (cachedPems) {
    try {
      return cachedPems.map(toKeyPair);
    } catch {
      // corrupt cache: regenerate below
    }
  }
  const pems = Array.from({ length: KEY_COUNT }, () => generateKeyPairSync('rsa', KEY_OPTIONS).privateKey);
  if (useCache) {
    // Atomic replace, so concurrent test processes never read a half-written file.
    const tmp = `${KEY_CACHE}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(pems), { mode: 0o600 });
    renameSync(tmp, KEY_CACHE);
  }
  return pems.map(toKeyPair);
}

/** SPKI pin as RFC 7858 / 7469 define it: base64 of sha256 over the DER SubjectPublicKeyInfo. */
export function spkiPinOf(certPem: string): string {
  const der = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(der).digest('base64');
}

/** `pin-sha256="<pin>"` as used in pin directives / config. */
export function pinDirective(pin: string): string {
  return `pin-sha256="${pin}"`;
}

function serial(): string {
  // Positive, non-zero 16-byte serial: clear the top bit, force a non-zero first byte.
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function subjectKeyId(publicKey: forge.pki.rsa.PublicKey): string {
  return forge.pki.getPublicKeyFingerprint(publicKey, { type: 'RSAPublicKey' }).getBytes();
}

interface CertSpec {
  subject: forge.pki.CertificateField[];
  issuer: forge.pki.CertificateField[];
  publicKey: forge.pki.rsa.PublicKey;
  signingKey: KeyPair;
  /** subjectKeyIdentifier of the claimed issuer (raw bytes), for the authorityKeyIdentifier. */
  issuerKeyId: string;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
  dnsNames?: string[];
  ips?: string[];
}

function buildCert(spec: CertSpec): string {
  const cert = forge.pki.createCertificate();
  cert.publicKey = spec.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = spec.notBefore;
  cert.validity.notAfter = spec.notAfter;
  cert.setSubject(spec.subject);
  cert.setIssuer(spec.issuer);
  const extensions: object[] = [
    { name: 'basicConstraints', cA: spec.isCa, critical: true },
    spec.isCa
      ? { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true }
      : { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' }, // forge derives it from cert.publicKey (sha1 of RSAPublicKey)
    { name: 'authorityKeyIdentifier', keyIdentifier: spec.issuerKeyId },
  ];
  if (!spec.isCa) extensions.push({ name: 'extKeyUsage', serverAuth: true });
  const altNames = [
    ...(spec.dnsNames ?? []).map((value) => ({ type: 2, value })),
    ...(spec.ips ?? []).map((ip) => ({ type: 7, ip })),
  ];
  if (altNames.length > 0) extensions.push({ name: 'subjectAltName', altNames });
  cert.setExtensions(extensions);
  // Equivalent of cert.sign(key, sha256), with the RSA operation done by node:crypto.
  cert.signatureOid = cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption ?? '';
  const pki = forge.pki as typeof forge.pki & {
    getTBSCertificate(c: forge.pki.Certificate): forge.asn1.Asn1;
  };
  cert.tbsCertificate = pki.getTBSCertificate(cert);
  const tbs = Buffer.from(forge.asn1.toDer(cert.tbsCertificate).getBytes(), 'binary');
  cert.signature = sign('sha256', tbs, spec.signingKey.pem).toString('binary');
  return forge.pki.certificateToPem(cert);
}

function dn(cn: string): forge.pki.CertificateField[] {
  return [
    { name: 'commonName', value: cn },
    { name: 'organizationName', value: 'dotstub tests' },
  ];
}

function pair(cert: string, key: KeyPair): PemPair {
  return { cert, key: key.pem, pin: spkiPinOf(cert) };
}

function leafOf(cert: string, key: KeyPair, issuerCert: string): PemLeaf {
  return { ...pair(cert, key), chain: cert + issuerCert };
}

function makeCa(cn: string, key: KeyPair, now: number): string {
  return buildCert({
    subject: dn(cn),
    issuer: dn(cn),
    publicKey: key.publicKey,
    signingKey: key,
    issuerKeyId: subjectKeyId(key.publicKey),
    notBefore: new Date(now - 2 * DAY_MS),
    notAfter: new Date(now + 365 * DAY_MS),
    isCa: true,
  });
}

function mint(keys: KeyPair[]): TestPki {
  const now = Date.now();
  const [caKey, leafKey, selfKey, attackerKey, otherCaKey, otherLeafKey] = keys as [
    KeyPair,
    KeyPair,
    KeyPair,
    KeyPair,
    KeyPair,
    KeyPair,
  ];

  const caDn = dn('dotstub test CA');
  const caCert = makeCa('dotstub test CA', caKey, now);
  const caKeyId = subjectKeyId(caKey.publicKey);
  const issued = (name: string, from: number, to: number, ips: string[]): string =>
    buildCert({
      subject: dn(name),
      issuer: caDn,
      publicKey: leafKey.publicKey,
      signingKey: caKey,
      issuerKeyId: caKeyId,
      notBefore: new Date(now + from * DAY_MS),
      notAfter: new Date(now + to * DAY_MS),
      isCa: false,
      dnsNames: [name],
      ips,
    });
  const loopbacks = ['127.0.0.1', '::1'];

  const selfCert = buildCert({
    subject: dn('dot.test'),
    issuer: dn('dot.test'),
    publicKey: selfKey.publicKey,
    signingKey: selfKey,
    issuerKeyId: subjectKeyId(selfKey.publicKey),
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 30 * DAY_MS),
    isCa: false,
    dnsNames: ['dot.test'],
    ips: loopbacks,
  });

  const attackerCert = buildCert({
    subject: dn('dot.test'),
    issuer: caDn, // claims the genuine CA as issuer...
    publicKey: attackerKey.publicKey,
    signingKey: attackerKey, // ...but is signed by the attacker's key
    issuerKeyId: caKeyId,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 30 * DAY_MS),
    isCa: false,
    dnsNames: ['dot.test'],
    ips: loopbacks,
  });

  const otherCaCert = makeCa('dotstub other CA', otherCaKey, now);
  const otherLeafCert = buildCert({
    subject: dn('dot.test'),
    issuer: dn('dotstub other CA'),
    publicKey: otherLeafKey.publicKey,
    signingKey: otherCaKey,
    issuerKeyId: subjectKeyId(otherCaKey.publicKey),
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + 30 * DAY_MS),
    isCa: false,
    dnsNames: ['dot.test'],
    ips: loopbacks,
  });

  return {
    ca: pair(caCert, caKey),
    leaf: leafOf(issued('dot.test', -1, 30, loopbacks), leafKey, caCert),
    expired: leafOf(issued('dot.test', -10, -1, loopbacks), leafKey, caCert),
    notYetValid: leafOf(issued('dot.test', 1, 30, loopbacks), leafKey, caCert),
    wrongName: leafOf(issued('other.test', -1, 30, []), leafKey, caCert),
    selfSigned: pair(selfCert, selfKey),
    attacker: leafOf(attackerCert, attackerKey, caCert),
    otherCa: pair(otherCaCert, otherCaKey),
    otherLeaf: leafOf(otherLeafCert, otherLeafKey, otherCaCert),
  };
}

let cached: TestPki | undefined;
let cachedKeys: KeyPair[] | undefined;
let cachedCaFile: string | undefined;

/**
 * The process-wide test PKI. Synchronous. The first call in a process mints nine certificates
 * (~20 ms) from cached keys, or generates six RSA 2048 keys first (1-4 s) when there is no key
 * cache; later calls return the same object.
 */
export function getTestPki(): TestPki {
  cachedKeys ??= loadKeys();
  cached ??= mint(cachedKeys);
  return cached;
}

/** A self-signed certificate (PEM) for exactly these DNS names (none: the subject CN only): name checks. */
export function certForNames(dnsNames: string[], commonName = dnsNames[0] ?? 'nameless.test'): string {
  cachedKeys ??= loadKeys();
  const key = cachedKeys[2]!;
  const now = Date.now();
  return buildCert({
    subject: dn(commonName),
    issuer: dn(commonName),
    publicKey: key.publicKey,
    signingKey: key,
    issuerKeyId: subjectKeyId(key.publicKey),
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + DAY_MS),
    isCa: false,
    dnsNames,
  });
}

/** Path of a PEM file (in a fresh os.tmpdir() directory) holding the test CA; written once per process. */
export function caFile(): string {
  if (cachedCaFile === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'dotstub-test-ca-'));
    const path = join(dir, 'ca.pem');
    writeFileSync(path, getTestPki().ca.cert);
    cachedCaFile = path;
  }
  return cachedCaFile;
}
