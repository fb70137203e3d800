/**
 * `dotstub reload [--control SOCKET]`: asks the running daemon to re-read its configuration, as SIGHUP
 * does, and reports what changed, or why nothing did (a configuration that does not validate leaves the
 * running one in place: exit 78, as for `dotstub run`).
 */
import { parseArgs } from 'node:util';
import type { ReloadSummary } from '../server/reload.js';
import { callDaemon } from './control-client.js';

export const RELOAD_USAGE = 'usage: dotstub reload [--control SOCKET]';

const EXIT: Record<string, number> = {
  ERR_DOTSTUB_CONFIG: 78, // EX_CONFIG
  ERR_DOTSTUB_LISTEN: 71, // EX_OSERR
  ERR_DOTSTUB_CONTROL_UNREACHABLE: 69, // EX_UNAVAILABLE
  ERR_DOTSTUB_CONTROL_TIMEOUT: 69,
  ERR_DOTSTUB_CONTROL_METHOD: 69,
};

const count = (c: { kept: number; added: number; removed: number }): string =>
  `${c.kept} kept, ${c.added} added, ${c.removed} removed`;

export async function reloadCommand(args: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { control: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help === true) {
    process.stdout.write(`${RELOAD_USAGE}\n`);
    return 0;
  }
  try {
    const result = (await callDaemon('reload', undefined, {
      ...(values.control === undefined ? {} : { path: values.control }),
      timeoutMs: 15_000,
    })) as ReloadSummary & { warnings?: string[] };
    for (const w of result.warnings ?? []) process.stderr.write(`warning: ${w}\n`);
    process.stdout.write(
      `reloaded: upstreams ${count(result.upstreams)}; listen addresses ${count(result.listen)}\n`,
    );
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    process.stderr.write(
      `dotstub reload: ${err instanceof Error ? err.message : String(err)}${code === 'ERR_DOTSTUB_CONFIG' ? ' (the running configuration is unchanged)' : ''}\n`,
    );
    return typeof code === 'string' ? (EXIT[code] ?? 1) : 1;
  }
}
