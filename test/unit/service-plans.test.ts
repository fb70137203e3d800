// dotstub service: the exact dry-run output per init system, the packaged files equal to what install writes,
// the unit accepted by systemd-analyze verify, and install/uninstall carried out in a scratch root.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { executePlan, underRoot } from '../../src/system/executor.js';
import { formatPlan } from '../../src/system/plan.js';
import { dropTarget } from '../../src/system/privileges.js';
import { launchdPlist, systemdUnit, windowsTaskScript } from '../../src/system/service-files.js';
import {
  actionPlan,
  installPlan,
  serviceLayout,
  uninstallPlan,
  type ServiceFacts,
  type ServiceLayout,
  type ServiceManifest,
} from '../../src/system/service-plans.js';
import { fakeRunner, makeRoot, put, tree } from '../helpers/scratch-root.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SYSTEMD = serviceLayout('systemd', '/usr/bin/node', '/opt/dotstub/dist/src/cli/dotstub.mjs');
const LAUNCHD = serviceLayout(
  'launchd',
  '/usr/local/bin/node',
  '/usr/local/lib/node_modules/dotstub/dist/src/cli/dotstub.mjs',
);
const WINDOWS = serviceLayout(
  'windows',
  'C:\\Program Files\\nodejs\\node.exe',
  'C:\\dotstub\\dist\\src\\cli\\dotstub.mjs',
);
const NOTHING: ServiceFacts = { exists: () => false, sha256: () => undefined, manifest: undefined };
const body = (text: string): string =>
  `${text
    .slice(0, -1)
    .split('\n')
    .map((l) => `    | ${l}`.trimEnd())
    .join('\n')}\n`;
const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** A root as a systemd machine has it: /etc/systemd/system and /var/lib exist. */
function systemdRoot(): string {
  const root = makeRoot();
  mkdirSync(join(root, 'etc/systemd/system'), { recursive: true });
  mkdirSync(join(root, 'var/lib'), { recursive: true });
  return root;
}

function rootFacts(root: string, layout: ServiceLayout): ServiceFacts {
  const path = (p: string): string => underRoot(root, p);
  return {
    exists: (p) => existsSync(path(p)),
    sha256: (p) =>
      existsSync(path(p))
        ? createHash('sha256')
            .update(readFileSync(path(p)))
            .digest('hex')
        : undefined,
    manifest: existsSync(path(layout.manifest))
      ? (JSON.parse(readFileSync(path(layout.manifest), 'utf8')) as ServiceManifest)
      : undefined,
  };
}

describe('service definitions', () => {
  it('packaging/ holds what install writes with the paths of a manual install', () => {
    assert.equal(readFileSync(join(REPO, 'packaging/systemd/dotstub.service'), 'utf8'), systemdUnit(SYSTEMD));
    assert.equal(
      readFileSync(join(REPO, 'packaging/launchd/org.dotstub.dotstub.plist'), 'utf8'),
      launchdPlist(LAUNCHD),
    );
  });

  it('the unit passes systemd-analyze verify with no complaint', (t) => {
    const probe = spawnSync('systemd-analyze', ['--version']);
    if (probe.error !== undefined) {
      // Under CI nothing is skipped: scripts/install-peers.sh installs it.
      assert.notEqual(
        process.env.CI,
        'true',
        'systemd-analyze is missing (scripts/install-peers.sh installs it)',
      );
      t.skip('systemd-analyze is not installed (scripts/install-peers.sh installs it)');
      return;
    }
    const dir = mkdtempSync(join(tmpdir(), 'dotstub-unit-'));
    // The real node and main.js: verify checks that ExecStart's program is executable.
    const main = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
    writeFileSync(join(dir, 'dotstub.service'), systemdUnit({ ...SYSTEMD, node: process.execPath, main }));
    const r = spawnSync('systemd-analyze', ['verify', join(dir, 'dotstub.service')], { encoding: 'utf8' });
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
    // The check itself bites: an unknown key is reported.
    writeFileSync(
      join(dir, 'dotstub.service'),
      `${systemdUnit({ ...SYSTEMD, node: process.execPath, main })}Bogus=1\n`,
    );
    const bad = spawnSync('systemd-analyze', ['verify', join(dir, 'dotstub.service')], { encoding: 'utf8' });
    assert.match(bad.stderr, /Unknown key 'Bogus'/);
  });
});

describe('service install/uninstall dry run, per init system', () => {
  it('systemd', () => {
    const { plan, manifest } = installPlan(SYSTEMD, NOTHING);
    assert.deepEqual(manifest, {
      version: 1,
      init: 'systemd',
      files: [
        {
          path: '/etc/systemd/system/dotstub.service',
          sha256: sha(systemdUnit(SYSTEMD)),
          userEditable: false,
        },
        { path: '/etc/dotstub/config.json', sha256: sha('{}\n'), userEditable: true },
      ],
      dirs: ['/etc/dotstub', '/var/lib/dotstub'],
    });
    assert.equal(
      formatPlan(plan),
      `mkdir /etc/dotstub (mode 0755)
write /etc/systemd/system/dotstub.service (mode 0644):
${body(systemdUnit(SYSTEMD))}write /etc/dotstub/config.json (mode 0644):
    | {}
mkdir /var/lib/dotstub (mode 0755)
write /var/lib/dotstub/service-manifest.json (mode 0644):
${body(`${JSON.stringify(manifest, null, 2)}\n`)}run systemctl daemon-reload
run systemctl enable dotstub.service
run systemctl restart dotstub.service
`,
    );
    const facts: ServiceFacts = {
      exists: () => true,
      sha256: (p) => (p.endsWith('.json') ? sha('{}\n') : 'x'),
      manifest,
    };
    assert.equal(
      formatPlan(uninstallPlan(SYSTEMD, facts)!.plan),
      `run systemctl disable --now dotstub.service   (may fail)
remove /etc/systemd/system/dotstub.service
remove /etc/dotstub/config.json
run systemctl daemon-reload
remove /var/lib/dotstub/service-manifest.json
rmdir /var/lib/dotstub (if empty)
rmdir /etc/dotstub (if empty)
`,
    );
    assert.deepEqual(
      ['start', 'stop', 'restart', 'status'].map((a) => formatPlan(actionPlan(SYSTEMD, a as 'start'))),
      [
        'run systemctl start dotstub.service\n',
        'run systemctl stop dotstub.service\n',
        'run systemctl restart dotstub.service\n',
        'run systemctl status dotstub.service   (may fail)\n',
      ],
    );
  });

  it('launchd', () => {
    const { plan, manifest } = installPlan(LAUNCHD, NOTHING);
    const dir = '/Library/Application Support/dotstub';
    assert.equal(
      formatPlan(plan),
      `mkdir ${dir} (mode 0755)
write /Library/LaunchDaemons/org.dotstub.dotstub.plist (mode 0644):
${body(launchdPlist(LAUNCHD))}write ${dir}/config.json (mode 0644):
    | {}
mkdir ${dir}/data (mode 0755)
write ${dir}/data/service-manifest.json (mode 0644):
${body(`${JSON.stringify(manifest, null, 2)}\n`)}run launchctl bootout system/org.dotstub.dotstub   (may fail)
run launchctl enable system/org.dotstub.dotstub
run launchctl bootstrap system /Library/LaunchDaemons/org.dotstub.dotstub.plist
`,
    );
    // The config was edited after install: it stays.
    const facts: ServiceFacts = { exists: () => true, sha256: () => 'edited', manifest };
    const un = uninstallPlan(LAUNCHD, facts)!;
    assert.deepEqual(un.kept, [`${dir}/config.json`]);
    assert.equal(
      formatPlan(un.plan),
      `run launchctl bootout system/org.dotstub.dotstub   (may fail)
remove /Library/LaunchDaemons/org.dotstub.dotstub.plist
remove ${dir}/data/service-manifest.json
rmdir ${dir}/data (if empty)
rmdir ${dir} (if empty)
`,
    );
    assert.equal(
      formatPlan(actionPlan(LAUNCHD, 'stop')),
      'run launchctl kill SIGTERM system/org.dotstub.dotstub\n',
    );
  });

  it('windows: a startup task under SYSTEM, registered again with -Force', () => {
    const { plan, manifest } = installPlan(WINDOWS, NOTHING);
    assert.deepEqual(manifest.dirs, ['C:\\ProgramData\\dotstub', 'C:\\ProgramData\\dotstub\\data']);
    const ps = (script: string): string[] => [
      'powershell.exe',
      '-NoProfile',
      '-NonInteractive',
      '-Command',
      script,
    ];
    const runs = plan.flatMap((s) => (s.kind === 'run' ? [s.argv] : []));
    assert.deepEqual(runs, [
      ps("Stop-ScheduledTask -TaskName 'dotstub'"),
      ps(`$action = New-ScheduledTaskAction -Execute 'C:\\Program Files\\nodejs\\node.exe' -Argument '"C:\\dotstub\\dist\\src\\cli\\dotstub.mjs" run --config "C:\\ProgramData\\dotstub\\config.json" --control "\\\\.\\pipe\\dotstub-control"' -WorkingDirectory 'C:\\'
$trigger = New-ScheduledTaskTrigger -AtStartup
$principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
$settings = New-ScheduledTaskSettingsSet -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -ExecutionTimeLimit (New-TimeSpan -Seconds 0) -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries
Register-ScheduledTask -TaskName 'dotstub' -Description 'dotstub DNS-over-TLS stub resolver' -Action $action -Trigger $trigger -Principal $principal -Settings $settings -Force | Out-Null`),
      ps("Start-ScheduledTask -TaskName 'dotstub'"),
    ]);
    const files = plan.filter((s) => s.kind === 'write').map((s) => s.path);
    assert.deepEqual(files, [
      'C:\\ProgramData\\dotstub\\config.json',
      'C:\\ProgramData\\dotstub\\data\\service-manifest.json',
    ]);
    const un = uninstallPlan(WINDOWS, { exists: () => true, sha256: () => sha('{}\n'), manifest })!;
    assert.equal(
      formatPlan(un.plan),
      `run powershell.exe -NoProfile -NonInteractive -Command 'Stop-ScheduledTask -TaskName '\\''dotstub'\\'''   (may fail)
run powershell.exe -NoProfile -NonInteractive -Command 'Unregister-ScheduledTask -TaskName '\\''dotstub'\\'' -Confirm:$false'   (may fail)
remove C:\\ProgramData\\dotstub\\config.json
remove C:\\ProgramData\\dotstub\\data\\service-manifest.json
rmdir C:\\ProgramData\\dotstub\\data (if empty)
rmdir C:\\ProgramData\\dotstub (if empty)
`,
    );
  });
});

describe('service install carried out in a scratch root', () => {
  it('install twice gives the same files; uninstall removes exactly them', async () => {
    const root = systemdRoot();
    put(root, '/etc/hostname', 'box\n');
    put(root, '/etc/systemd/system/other.service', '[Service]\nExecStart=/bin/true\n');
    const before = tree(root);
    const { runner, calls } = fakeRunner();
    await executePlan(installPlan(SYSTEMD, rootFacts(root, SYSTEMD)).plan, { root, runner });
    const once = tree(root);
    assert.equal(
      readFileSync(join(root, 'etc/systemd/system/dotstub.service'), 'utf8'),
      systemdUnit(SYSTEMD),
    );
    await executePlan(installPlan(SYSTEMD, rootFacts(root, SYSTEMD)).plan, { root, runner });
    assert.deepEqual(tree(root), once);
    await executePlan(uninstallPlan(SYSTEMD, rootFacts(root, SYSTEMD))!.plan, { root, runner });
    assert.deepEqual(tree(root), before);
    assert.equal(uninstallPlan(SYSTEMD, rootFacts(root, SYSTEMD)), undefined, 'nothing left to uninstall');
    assert.equal(calls.length, 3 + 3 + 2);
  });

  it('a config that was there before is neither written nor removed; one edited after install stays', async () => {
    const root = systemdRoot();
    put(root, '/etc/dotstub/config.json', '{"listen":["127.0.0.1@53"]}\n', 0o640);
    const before = tree(root);
    const { runner } = fakeRunner();
    await executePlan(installPlan(SYSTEMD, rootFacts(root, SYSTEMD)).plan, { root, runner });
    assert.equal(
      readFileSync(join(root, 'etc/dotstub/config.json'), 'utf8'),
      '{"listen":["127.0.0.1@53"]}\n',
    );
    await executePlan(uninstallPlan(SYSTEMD, rootFacts(root, SYSTEMD))!.plan, { root, runner });
    assert.deepEqual(tree(root), before);

    const fresh = systemdRoot();
    await executePlan(installPlan(SYSTEMD, rootFacts(fresh, SYSTEMD)).plan, { root: fresh, runner });
    writeFileSync(join(fresh, 'etc/dotstub/config.json'), '{"logLevel":"debug"}\n');
    const un = uninstallPlan(SYSTEMD, rootFacts(fresh, SYSTEMD))!;
    assert.deepEqual(un.kept, ['/etc/dotstub/config.json']);
    await executePlan(un.plan, { root: fresh, runner });
    assert.deepEqual(
      Object.keys(tree(fresh)).filter((k) => !k.startsWith('var')),
      ['etc', 'etc/dotstub', 'etc/dotstub/config.json', 'etc/systemd', 'etc/systemd/system'],
    );
  });
});

describe('privilege drop decision', () => {
  const passwd = 'root:x:0:0::/root:/bin/sh\nnobody:x:65534:65534::/:/usr/sbin/nologin\n';
  const withDotstub = `${passwd}dotstub:x:990:990::/var/lib/dotstub:/usr/sbin/nologin\n`;
  it('root on port 53 becomes dotstub when it exists, else nobody; --user wins; root on a high port stays', () => {
    assert.deepEqual(dropTarget(undefined, [53], 0, withDotstub), { name: 'dotstub', uid: 990, gid: 990 });
    assert.deepEqual(dropTarget(undefined, [53], 0, passwd), { name: 'nobody', uid: 65534, gid: 65534 });
    assert.equal(dropTarget(undefined, [5353], 0, passwd), undefined);
    assert.deepEqual(dropTarget('nobody', [5353], 0, passwd), { name: 'nobody', uid: 65534, gid: 65534 });
    assert.equal(dropTarget('root', [53], 0, passwd), undefined);
    assert.equal(dropTarget('nobody', [53], 1000, passwd), undefined, 'not root: nothing to drop');
    const mac = 'nobody:*:-2:-2:Unprivileged User:/var/empty:/usr/bin/false\n';
    assert.deepEqual(dropTarget(undefined, [53], 0, mac), {
      name: 'nobody',
      uid: 4294967294,
      gid: 4294967294,
    });
    assert.throws(() => dropTarget('ghost', [53], 0, passwd), {
      code: 'ERR_DOTSTUB_SYSTEM',
      message: /--user ghost: no such account/,
    });
  });
});

describe('packaging/windows', () => {
  it('install-service.ps1 registers the task exactly as dotstub service install does', () => {
    const script = readFileSync(join(REPO, 'packaging/windows/install-service.ps1'), 'utf8');
    const generated = windowsTaskScript(WINDOWS).split('\n').slice(1);
    assert.equal(generated.length, 4);
    for (const line of generated) assert.ok(script.includes(`${line}\n`), `missing: ${line}`);
  });
});
