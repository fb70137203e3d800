// The local zone unbound serves to the interop suite, and the answers each name must get.

export const ZONE = 'interop.test';
export const HOST_COUNT = 2000;
export const AAAA_COUNT = 500;
export const TXT_COUNT = 200;
/** Records in the TXT RRset of big.interop.test: about 2 KB on the wire, more than a 1232-byte UDP answer. */
export const BIG_TXT_COUNT = 30;
export const BIG_NAME = `big.${ZONE}`;

/** host0 … host1999 have an A record; host0 … host499 also AAAA; host0 … host199 also TXT. */
export function hostName(i: number): string {
  return `host${i}.${ZONE}`;
}

export function hostA(i: number): string {
  return `10.0.${i >> 8}.${i & 255}`;
}

/** In the compressed lower-case form dig and kdig print. */
export function hostAAAA(i: number): string {
  return `fd00::${(0x1000 + i).toString(16)}`;
}

export function hostTXT(i: number): string {
  return `interop-txt-${i}`;
}

export function bigTXT(i: number): string {
  return `big-${String(i).padStart(2, '0')}-${'x'.repeat(56)}`;
}

/** Names inside the zone that do not exist: NXDOMAIN. */
export function absentName(i: number): string {
  return `absent${i}.${ZONE}`;
}

/** The unbound.conf `local-data` lines for the whole zone. */
export function localDataLines(): string[] {
  const lines: string[] = [];
  for (let i = 0; i < HOST_COUNT; i++) lines.push(`  local-data: "${hostName(i)}. 300 IN A ${hostA(i)}"`);
  for (let i = 0; i < AAAA_COUNT; i++)
    lines.push(`  local-data: "${hostName(i)}. 300 IN AAAA ${hostAAAA(i)}"`);
  for (let i = 0; i < TXT_COUNT; i++)
    lines.push(`  local-data: '${hostName(i)}. 300 IN TXT "${hostTXT(i)}"'`);
  for (let i = 0; i < BIG_TXT_COUNT; i++)
    lines.push(`  local-data: '${BIG_NAME}. 300 IN TXT "${bigTXT(i)}"'`);
  return lines;
}

/**
 * A dnsperf query file of `count` lines: mostly A for hosts, every 4th line AAAA, every 7th TXT, every 10th an
 * absent name. Returns the text and how many lines must come back NXDOMAIN.
 */
export function dnsperfQueries(count: number): { text: string; nxdomain: number } {
  const lines: string[] = [];
  let nxdomain = 0;
  for (let i = 0; i < count; i++) {
    if (i % 10 === 9) {
      lines.push(`${absentName(i)} A`);
      nxdomain++;
    } else if (i % 7 === 3) lines.push(`${hostName(i % TXT_COUNT)} TXT`);
    else if (i % 4 === 1) lines.push(`${hostName(i % AAAA_COUNT)} AAAA`);
    else lines.push(`${hostName(i % HOST_COUNT)} A`);
  }
  return { text: lines.join('\n') + '\n', nxdomain };
}
