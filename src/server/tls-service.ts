/**
 * Everything behind --listen-tls: the certificates (configured pairs, or the generated self-signed one),
 * the session ticket key rotation shared by every DoT listener, the listeners, and their status.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, describeCause } from '../errors.js';
import { spkiPin } from '../upstream/spki-pin.js';
import type { Clock } from '../util/clock.js';
import { parseAllowList } from './allow-list.js';
import type { QueryContext } from './query-handler.js';
import type { CertKeyPem } from './self-signed-cert.js';
import { DEFAULT_TCP_LIMITS, type TcpLimits } from './stream-client.js';
import { readTicketSecret, TicketKeyRotator } from './ticket-keys.js';
import type { TlsSettings } from './tls-settings.js';
import { TlsListener } from './tls-listener.js';
import type { ListenerStatus, TlsCertificateStatus } from './tls-status.js';

export interface TlsListenSpec {
  readonly host: string;
  readonly port: number;
}

export interface TlsServiceOptions {
  readonly clock: Clock;
  /** Wall-clock time for ticket epochs and certificate validity. @default Date.now */
  readonly wallNow?: (() => number) | undefined;
  /** Partial-frame and in-flight limits shared with the TCP listener. */
  readonly tcp?: TcpLimits | undefined;
}

export interface TlsService {
  readonly listeners: readonly TlsListener[];
  readonly certificates: readonly TlsCertificateStatus[];
  status(): ListenerStatus;
  close(): Promise<void>;
  destroy(): void;
}

function readPem(path: string, key: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(key, `cannot read ${path}: ${describeCause(err)}`);
  }
}

function configuredPair(pair: { cert: string; key: string }, i: number): CertKeyPem {
  const path = `tls.certs[${i}]`;
  const cert = readPem(pair.cert, `${path}.cert`);
  const key = readPem(pair.key, `${path}.key`);
  let matches: boolean;
  try {
    matches = new X509Certificate(cert).checkPrivateKey(createPrivateKey(key));
  } catch (err) {
    throw new ConfigError(path, `${pair.cert} / ${pair.key} do not parse as PEM: ${describeCause(err)}`);
  }
  if (!matches) throw new ConfigError(path, `the key in ${pair.key} does not belong to ${pair.cert}`);
  return { cert, key };
}

function describeCert(pem: string, source: 'config' | 'generated', path: string): TlsCertificateStatus {
  const x509 = new X509Certificate(pem);
  return {
    source,
    path,
    subject: x509.subject.replace(/\n/g, ', '),
    keyType: x509.publicKey.asymmetricKeyType ?? 'unknown',
    notAfter: new Date(x509.validTo).toISOString(),
    pin: spkiPin(x509),
  };
}

async function loadCertificates(
  settings: TlsSettings,
  specs: readonly TlsListenSpec[],
  now: () => number,
): Promise<{ pairs: CertKeyPem[]; status: TlsCertificateStatus[] }> {
  if (settings.certs.length > 0) {
    const pairs = settings.certs.map(configuredPair);
    return {
      pairs,
      status: pairs.map((p, i) => describeCert(p.cert, 'config', settings.certs[i]?.cert ?? '')),
    };
  }
  // node-forge (about 60 ms to load) only when a certificate has to be made or read back.
  const { loadOrCreateSelfSigned } = await import('./self-signed-cert.js');
  const made = await loadOrCreateSelfSigned({
    dir: settings.certDir,
    ips: specs.map((s) => s.host),
    now: () => new Date(now()),
  });
  return { pairs: [made], status: [describeCert(made.cert, 'generated', made.certPath)] };
}

export async function startTlsService(
  specs: readonly TlsListenSpec[],
  settings: TlsSettings,
  ctx: QueryContext,
  options: TlsServiceOptions,
): Promise<TlsService> {
  const wallNow = options.wallNow ?? Date.now;
  const allow = parseAllowList(settings.allow);
  const secret =
    settings.ticketSecretFile === undefined ? undefined : readTicketSecret(settings.ticketSecretFile);
  const { pairs, status: certificates } = await loadCertificates(settings, specs, wallNow);
  // Clients pin this out of band (RFC 7858 sec. 4.2); `dotstub pin --self` prints it too.
  for (const c of certificates)
    ctx.logger.info('DoT listener certificate', { source: c.source, key: c.keyType, pin: c.pin });
  const limits: TcpLimits = {
    ...(options.tcp ?? DEFAULT_TCP_LIMITS),
    maxConnections: settings.maxConnections,
    idleTimeoutMs: settings.idleTimeoutMs,
  };
  const listeners: TlsListener[] = [];
  let ticketKey: Buffer | undefined;
  // Started first, so every listener begins with the key of the current epoch.
  const rotator = new TicketKeyRotator(
    { secret, rotationMs: settings.ticketRotationMs, wallNow, clock: options.clock },
    (key) => {
      ticketKey = key;
      for (const l of listeners) l.setTicketKey(key);
    },
  );
  try {
    for (const spec of specs)
      listeners.push(
        await TlsListener.bind(spec.host, spec.port, ctx, {
          certs: pairs,
          padBlock: settings.padding,
          allow,
          limits,
          maxConnectionsPerClient: settings.maxConnectionsPerClient,
          ticketKey,
        }),
      );
  } catch (err) {
    rotator.stop();
    await Promise.all(listeners.map((l) => l.close()));
    throw err;
  }
  return {
    listeners,
    certificates,
    status: () => ({
      enabled: true,
      listeners: listeners.map((l) => ({
        address: l.host,
        port: l.port,
        open: l.connections,
        connections: { ...l.counters.connections },
        refused: { ...l.counters.refused },
        handshakeFailures: { ...l.counters.handshakeFailures },
      })),
      queries: ctx.counters.queries.tls,
      certificates,
      ticketKeyRotations: rotator.rotations,
      ticketKeyShared: secret !== undefined,
    }),
    close: async () => {
      rotator.stop();
      await Promise.all(listeners.map((l) => l.close()));
    },
    destroy: () => {
      rotator.stop();
      for (const l of listeners) l.destroy();
    },
  };
}
