/**
 * `dotstub service install | uninstall | status | start | stop | restart [--dry-run]`: dotstub as the system
 * service of this machine's init system (systemd, launchd, or a Windows startup task). `--dry-run` prints every
 * file it would write and every command it would run.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { dataDir } from '../config/paths.js';
import { ConfigError, SystemChangeError } from '../errors.js';
import { executePlan, realRunner, underRoot } from '../system/executor.js';
import { formatPlan, type Step } from '../system/plan.js';
import {
  actionPlan,
  detectInitSystem,
  INIT_SYSTEMS,
  installPlan,
  serviceLayout,
  uninstallPlan,
  type InitSystem,
  type ServiceFacts,
  type ServiceLayout,
  type ServiceManifest,
} from '../system/service-plans.js';

export const SERVICE_USAGE = `usage: dotstub service install|uninstall|status|start|stop|restart [--dry-run] [--init systemd|launchd|windows]
  install    write the service definition (and an empty system config if there is none), enable and start it
  uninstall  stop it and remove exactly what install wrote (a config you edited stays)
  --dry-run  print every file it would write and every command it would run, and change nothing
  --init     with --dry-run: show the plan for another init system than this machine's`;

const OPTIONS = {
  'dry-run': { type: 'boolean' },
  init: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

const ACTIONS = ['install', 'uninstall', 'status', 'start', 'stop', 'restart'] as const;
type Action = (typeof ACTIONS)[number];

const out = (s: string): void => {
  process.stdout.write(s);
};

/**
 * What the service runs with this node: the bundled bin next to this file (dotstub.mjs), which starts
 * in about half the module loads of main.js; main.js itself when only tsc has run (no bundle).
 */
const BUNDLE = fileURLToPath(new URL('./dotstub.mjs', import.meta.url));
const MAIN = existsSync(BUNDLE) ? BUNDLE : fileURLToPath(new URL('./main.js', import.meta.url));

function readFacts(layout: ServiceLayout, root: string): ServiceFacts {
  const read = (p: string): Buffer | undefined => {
    try {
      return readFileSync(underRoot(root, p));
    } catch {
      return undefined;
    }
  };
  const manifestText = read(layout.manifest);
  return {
    exists: (p) => existsSync(underRoot(root, p)),
    sha256: (p) => {
      const bytes = read(p);
      return bytes === undefined ? undefined : createHash('sha256').update(bytes).digest('hex');
    },
    manifest:
      manifestText === undefined ? undefined : (JSON.parse(manifestText.toString('utf8')) as ServiceManifest),
  };
}

function pickInit(requested: string | undefined, dryRun: boolean): InitSystem {
  if (requested === undefined) return detectInitSystem(process.platform);
  if (!INIT_SYSTEMS.includes(requested as InitSystem))
    throw new ConfigError('--init', `${JSON.stringify(requested)} is not one of ${INIT_SYSTEMS.join(', ')}`);
  if (!dryRun)
    throw new ConfigError('--init', "only with --dry-run: a real install uses this machine's init system");
  return requested as InitSystem;
}

function planFor(action: Action, layout: ServiceLayout): { plan: Step[]; note: string } | undefined {
  const facts = readFacts(layout, '/');
  if (action === 'install')
    return {
      plan: installPlan(layout, facts).plan,
      note: `installed (${layout.init}); it reads ${layout.config}`,
    };
  if (action === 'uninstall') {
    const planned = uninstallPlan(layout, facts);
    if (planned === undefined) return undefined;
    const kept = planned.kept.map((k) => `; kept ${k}, which was edited after install`).join('');
    return { plan: planned.plan, note: `uninstalled (${layout.init})${kept}` };
  }
  return { plan: actionPlan(layout, action), note: `${action}: done` };
}

/** Stopping the service while the machine asks it would leave the machine without DNS. */
function guardResolver(action: Action, dryRun: boolean): void {
  if (action !== 'uninstall' && action !== 'stop') return;
  if (!existsSync(join(dataDir('system'), 'system-resolver.json'))) return;
  const why = `dotstub is this machine's resolver (dotstub system enable): run \`sudo dotstub system disable\` before \`dotstub service ${action}\`, or the machine loses DNS`;
  if (!dryRun) throw new SystemChangeError(why);
  out(`warning: ${why}\n`);
}

async function run(action: Action, dryRun: boolean, init: string | undefined): Promise<number> {
  const layout = serviceLayout(pickInit(init, dryRun), process.execPath, MAIN);
  const planned = planFor(action, layout);
  if (planned === undefined) {
    out(
      `nothing to uninstall: no manifest at ${layout.manifest} (dotstub service install has not run here)\n`,
    );
    return 0;
  }
  guardResolver(action, dryRun);
  if (dryRun) {
    out(formatPlan(planned.plan));
    return 0;
  }
  if (process.platform !== 'win32' && process.getuid?.() !== 0 && action !== 'status')
    throw new SystemChangeError(
      `dotstub service ${action} needs root: run it with sudo`,
      undefined,
      'ERR_DOTSTUB_PERMISSION',
    );
  if (action === 'status') {
    // Status commands print what the service manager says; their exit code is the answer (3: not running).
    let code = 0;
    for (const step of planned.plan) {
      if (step.kind !== 'run') continue;
      const r = await realRunner(step.argv);
      out(r.stdout);
      process.stderr.write(r.stderr);
      code = r.code;
    }
    return code;
  }
  await executePlan(planned.plan, {
    runner: realRunner,
    report: (l) => {
      out(`${l}\n`);
    },
  });
  out(`dotstub service ${planned.note}\n`);
  return 0;
}

export async function serviceCommand(args: readonly string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: [...args], options: OPTIONS, allowPositionals: true });
  const [action, ...extra] = positionals;
  if (values.help === true || action === undefined) {
    out(`${SERVICE_USAGE}\n`);
    return values.help === true ? 0 : 64;
  }
  if (!ACTIONS.includes(action as Action) || extra.length > 0) {
    process.stderr.write(
      `dotstub service: unknown action ${JSON.stringify(positionals.join(' '))}\n${SERVICE_USAGE}\n`,
    );
    return 64;
  }
  return run(action as Action, values['dry-run'] === true, values.init);
}
