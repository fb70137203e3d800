/** Small formatting helpers shared by the text and Prometheus renderings of `dotstub status`. */

/** 450 -> "0.45 s", 4200 -> "4.2 s", 65000 -> "1m05s", 3723000 -> "1h02m03s". */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(ms < 1000 ? 2 : 1)} s`;
  const total = Math.round(ms / 1000);
  if (total < 60) return `${total} s`;
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m${s}s` : `${m}m${s}s`;
}

export function formatMs(ms: number): string {
  return ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : ms.toFixed(0);
}

export function formatBytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/** HH:MM:SS of an ISO time, in local time or UTC. */
export function formatClock(iso: string, utc: boolean): string {
  const d = new Date(iso);
  const parts = utc
    ? [d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds()]
    : [d.getHours(), d.getMinutes(), d.getSeconds()];
  return parts.map((n) => String(n).padStart(2, '0')).join(':');
}

/** `a.b.c: value` lines for the numbers and strings of a nested object (a feature's status section). */
export function flatten(value: unknown, prefix = ''): [string, string | number | boolean | null][] {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return [[prefix, value]];
  // What came over JSON has no other leaves; null stays null.
  if (value === null || typeof value !== 'object') return [[prefix, null]];
  const out: [string, string | number | boolean | null][] = [];
  for (const [key, inner] of Object.entries(value)) {
    out.push(...flatten(inner, prefix === '' ? key : `${prefix}.${key}`));
  }
  return out;
}
