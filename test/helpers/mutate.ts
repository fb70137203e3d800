// Cheap, seeded mutations of DNS messages for the fuzz tests (test plan C2 and mutated answers): byte
// flips, truncation, lying counts, stray compression pointers, trailing garbage, a second OPT record.
// Seeded, so a failure reproduces with the same inputs.

/** A small linear congruential generator: deterministic and fast, not for anything secret. */
export function seededRandom(seed: number): (n: number) => number {
  let x = seed >>> 0;
  return (n: number): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 8) % n;
  };
}

type Op = (m: Buffer, rand: (n: number) => number, from: number) => Buffer;

const OPS: readonly Op[] = [
  // Flip 1 to 4 bytes at or after `from`.
  (m, rand, from) => {
    const out = Buffer.from(m);
    for (let k = 0; k < 1 + rand(4); k++) out[from + rand(out.length - from)] = rand(256);
    return out;
  },
  // Cut it short.
  (m, rand, from) => Buffer.from(m.subarray(0, from + rand(m.length - from))),
  // A count that lies: 0 to 3, or 0xffff.
  (m, rand, from) => {
    const out = Buffer.from(m);
    if (out.length < 12 || from > 4) return out;
    out.writeUInt16BE(rand(5) === 0 ? 0xffff : rand(4), 4 + 2 * rand(4));
    return out;
  },
  // A compression pointer somewhere it does not belong (forward, into itself, or a loop).
  (m, rand, from) => {
    const out = Buffer.from(m);
    const at = Math.max(12, from + rand(out.length - from - 1));
    out[at] = 0xc0 | rand(0x40);
    if (at + 1 < out.length) out[at + 1] = rand(256);
    return out;
  },
  // Garbage after the last record.
  (m, rand) => Buffer.concat([m, Buffer.from(Array.from({ length: 1 + rand(8) }, () => rand(256)))]),
  // The OPT record twice (RFC 6891 sec. 6.1.1 allows one): the last 11 bytes of a message whose OPT is last.
  (m) => {
    if (m.length < 23) return m;
    const out = Buffer.concat([m, m.subarray(m.length - 11)]);
    out.writeUInt16BE((out.readUInt16BE(10) + 1) & 0xffff, 10);
    return out;
  },
];

/**
 * One mutant of `seed`. Bytes before `from` are left alone (a header and question for answers that must
 * still match their query); 1 to 3 operations are applied in a row.
 */
export function mutate(seed: Buffer, rand: (n: number) => number, from = 0): Buffer {
  let m = seed;
  for (let k = 0; k < 1 + rand(3); k++) {
    if (m.length <= from + 1) break;
    m = OPS[rand(OPS.length)]!(m, rand, from);
  }
  return m;
}
