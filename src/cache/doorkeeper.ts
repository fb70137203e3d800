/**
 * Which keys were asked for recently: a Bloom filter (about 1 % false positives at its capacity) that is
 * emptied once it has taken `capacity` keys, so "seen" means "seen within the last `capacity` stores".
 * The cache's admission filter (TinyLFU's doorkeeper, Einziger et al. 2017): when storing an answer would
 * push a live answer out, the new one is stored only on its second sight, so a stream of names asked once
 * (a scan, a benchmark, a misbehaving program) cannot flush the answers that are used.
 */
import { fnv1a } from '../util/fnv1a.js';

const BITS = 1 << 20;
const MASK = BITS - 1;

export class Doorkeeper {
  readonly #bits = new Uint32Array(BITS / 32);
  readonly #capacity: number;
  #added = 0;

  /** @param capacity keys taken before the filter is emptied (about 1 % false positives at 100,000). */
  constructor(capacity = 100_000) {
    this.#capacity = capacity;
  }

  /**
   * True if `key` was (probably) seen since the last reset; otherwise remembers it and returns false.
   * `h` is the key's FNV-1a (ChurnMap's hashOf), passed by a caller that has it already.
   */
  seenOrAdd(key: string, h = fnv1a(key)): boolean {
    // FNV-1a, then a second hash derived from it (Kirsch-Mitzenmacher double hashing), three probes.
    const h2 = Math.imul(h ^ (h >>> 16), 0x85ebca6b) | 1;
    let seen = true;
    for (let k = 0; k < 3; k++) {
      const bit = (h + Math.imul(k, h2)) & MASK;
      const word = bit >>> 5;
      const flag = 1 << (bit & 31);
      const value = this.#bits[word] ?? 0;
      if ((value & flag) === 0) {
        seen = false;
        this.#bits[word] = value | flag;
      }
    }
    if (seen) return true;
    if (++this.#added >= this.#capacity) this.clear();
    return false;
  }

  clear(): void {
    this.#bits.fill(0);
    this.#added = 0;
  }
}
