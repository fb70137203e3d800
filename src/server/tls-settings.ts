/** The DoT listener's settings and their defaults, apart from the listener so the config code loads light. */
import { RESPONSE_PAD_BLOCK } from '../dns/server-options.js';
import { DEFAULT_ALLOW } from './allow-list.js';
import { DEFAULT_TICKET_ROTATION_MS } from './ticket-keys.js';

export interface TlsSettings {
  /** PEM certificate (chain) and key file pairs; empty: a self-signed ECDSA certificate is generated. */
  readonly certs: readonly { readonly cert: string; readonly key: string }[];
  /** Pad answers to padded queries to a multiple of this (RFC 8467 sec. 4.1); 0 = off. @default 468 */
  readonly padding: number;
  /** A secret shared by instances that should resume each other's sessions. */
  readonly ticketSecretFile?: string | undefined;
  /** @default 3600000 */
  readonly ticketRotationMs: number;
  /** Networks (CIDR) allowed to connect. @default loopback only */
  readonly allow: readonly string[];
  /** @default 256 */
  readonly maxConnections: number;
  /** @default 32 */
  readonly maxConnectionsPerClient: number;
  /** Close a connection idle this long; announced by RFC 7828 keepalive. @default 10000 */
  readonly idleTimeoutMs: number;
  /** Where the generated certificate is kept (paths.ts dataDir/tls by default). */
  readonly certDir: string;
}

export const DEFAULT_TLS_SETTINGS: Omit<TlsSettings, 'certDir'> = {
  certs: [],
  padding: RESPONSE_PAD_BLOCK,
  ticketRotationMs: DEFAULT_TICKET_ROTATION_MS,
  allow: DEFAULT_ALLOW,
  maxConnections: 256,
  maxConnectionsPerClient: 32,
  idleTimeoutMs: 10_000,
};
