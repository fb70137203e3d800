/**
 * `dotstub portal [--for 5m] | --off | --status`: opens the captive-portal window on the running daemon
 * (names in clear to the network's own resolver so the login page can load), ends it, or shows it.
 */
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { callDaemon } from './control-client.js';

export const PORTAL_USAGE = `usage: dotstub portal [--for DURATION] [--control SOCKET] [--json]
       dotstub portal --off | --status
  --for DURATION  how long names go in CLEAR TEXT to the network's resolver (default 5m, at most 60m;
                  units s, m, h; a bare number is seconds). Strict resumes by itself afterwards, or as
                  soon as the portal probe loads as it should.
  --off           end portal mode now
  --status        show portal mode without changing it`;

const MAX_MS = 60 * 60_000;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** `90s`, `5m`, `1h`, `300` (seconds) -> ms; at least 1 s, at most an hour. */
export function parseDuration(text: string, path = '--for'): number {
  const m = /^(\d+(?:\.\d+)?)([smh]?)$/.exec(text.trim());
  const ms = m === null ? NaN : Math.round(Number(m[1]) * (UNIT_MS[m[2] || 's'] ?? NaN));
  if (!Number.isFinite(ms) || ms < 1000 || ms > MAX_MS)
    throw new ConfigError(
      path,
      `${JSON.stringify(text)} is not a duration from 1s to 60m (for example 90s, 5m, 1h)`,
    );
  return ms;
}

interface PortalView {
  active: boolean;
  until?: string;
  remainingMs?: number;
  servers: string[];
  lastEnd?: string;
  detection?: { url: string; result: string; checkedAt: string };
}

function describe(view: PortalView): string {
  const lines: string[] = [];
  if (view.active) {
    const minutes = Math.ceil((view.remainingMs ?? 0) / 60_000);
    lines.push(
      `portal mode ON: names go in CLEAR TEXT (not private) to ${view.servers.join(', ')} for ${minutes} more minute(s), until ${view.until ?? '?'}`,
      'Strict resumes by itself then; `dotstub portal --off` ends it now.',
    );
  } else {
    lines.push(
      `portal mode off: Strict${view.lastEnd === undefined ? '' : ` (last window ended: ${view.lastEnd})`}`,
    );
  }
  if (view.detection !== undefined)
    lines.push(
      `last portal probe: ${view.detection.result} (${view.detection.url} at ${view.detection.checkedAt})`,
    );
  return lines.join('\n');
}

export async function portalCommand(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      for: { type: 'string' },
      off: { type: 'boolean' },
      status: { type: 'boolean' },
      control: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help === true) {
    process.stdout.write(`${PORTAL_USAGE}\n`);
    return 0;
  }
  if (values.off === true && values.for !== undefined)
    throw new ConfigError('--off', 'give either --off or --for, not both');
  const params =
    values.off === true
      ? { off: true }
      : values.status === true
        ? {}
        : { forMs: parseDuration(values.for ?? '5m') };
  const result = (await callDaemon(
    'portal',
    params,
    values.control === undefined ? {} : { path: values.control },
  )) as PortalView;
  process.stdout.write(values.json === true ? `${JSON.stringify(result)}\n` : `${describe(result)}\n`);
  return 0;
}
