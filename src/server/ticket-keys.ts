/**
 * TLS session ticket keys of the DoT listener (RFC 5077 sec. 5.5: rotate them). Without a shared secret,
 * a random 48-byte key every rotation period. With one (`tls.ticketSecretFile`, as Knot Resolver's
 * net.tls_sticket_secret_file), the key of each period is HKDF-SHA256(secret, epoch) where the epoch
 * counts periods of wall-clock time, so every instance holding the file derives the same key at the same
 * time and resumes the others' sessions.
 *
 * Node's tls.Server holds exactly one ticket key (setTicketKeys takes 48 bytes; its ticket callback
 * matches only that key's name), so a ticket issued before a rotation cannot be decrypted after it: that
 * client makes a full handshake once. Rotation is therefore kept rare (an hour by default).
 */
import { Buffer } from 'node:buffer';
import { hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfigError, describeCause } from '../errors.js';
import type { Clock, Timer } from '../util/clock.js';

export const TICKET_KEY_LENGTH = 48;
export const DEFAULT_TICKET_ROTATION_MS = 60 * 60 * 1000;
/** A secret shorter than this would make the derived keys guessable. */
const MIN_SECRET_BYTES = 32;

/** The 48-byte key of one epoch, derived from a shared secret. */
export function deriveTicketKey(secret: Buffer, epoch: number): Buffer {
  return Buffer.from(
    hkdfSync('sha256', secret, 'dotstub tls session tickets', `epoch ${epoch}`, TICKET_KEY_LENGTH),
  );
}

/** Reads the shared secret; a missing or short file is a configuration error naming the key. */
export function readTicketSecret(path: string, key = 'tls.ticketSecretFile'): Buffer {
  let secret: Buffer;
  try {
    secret = readFileSync(path);
  } catch (err) {
    throw new ConfigError(key, `cannot read ${path}: ${describeCause(err)}`);
  }
  const trimmed = Buffer.from(secret.toString('latin1').trim(), 'latin1');
  if (trimmed.length < MIN_SECRET_BYTES)
    throw new ConfigError(
      key,
      `${path} holds ${trimmed.length} bytes; give at least ${MIN_SECRET_BYTES} random bytes (for example: head -c 48 /dev/urandom | base64 > FILE)`,
    );
  return trimmed;
}

export interface TicketKeyOptions {
  readonly secret?: Buffer | undefined;
  /** @default 3600000 */
  readonly rotationMs?: number | undefined;
  /** Wall-clock time in ms (epochs must agree between machines). @default Date.now */
  readonly wallNow?: (() => number) | undefined;
  readonly clock: Clock;
}

/** Hands the current key to `apply` now and at every epoch boundary until stopped. */
export class TicketKeyRotator {
  readonly #options: TicketKeyOptions;
  readonly #rotationMs: number;
  readonly #apply: (key: Buffer) => void;
  #timer: Timer | undefined;
  #epoch = -1;
  rotations = 0;

  constructor(options: TicketKeyOptions, apply: (key: Buffer) => void) {
    this.#options = options;
    this.#rotationMs = options.rotationMs ?? DEFAULT_TICKET_ROTATION_MS;
    this.#apply = apply;
    this.#tick();
  }

  get epoch(): number {
    return this.#epoch;
  }

  #now(): number {
    return (this.#options.wallNow ?? Date.now)();
  }

  #tick(): void {
    const now = this.#now();
    const epoch = Math.floor(now / this.#rotationMs);
    if (epoch !== this.#epoch) {
      const { secret } = this.#options;
      this.#apply(secret === undefined ? randomBytes(TICKET_KEY_LENGTH) : deriveTicketKey(secret, epoch));
      if (this.#epoch >= 0) this.rotations++;
      this.#epoch = epoch;
    }
    // Wake at the next boundary (a little after, so a timer firing early does not skip the epoch).
    const wait = (epoch + 1) * this.#rotationMs - now + 50;
    if (this.#timer === undefined)
      this.#timer = this.#options.clock.setTimeout(() => {
        this.#tick();
      }, wait);
    else this.#timer.refresh(wait);
  }

  stop(): void {
    this.#timer?.clear();
  }
}
