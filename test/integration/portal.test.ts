// Portal mode through the control channel and the CLI: names go in clear to the network's resolver only
// while the window is open, Strict (the public DoT upstream) before and after it; a probe that loads the
// known page ends it early; automatic detection only reports.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { callDaemon } from '../../src/cli/control-client.js';
import type { PortalStatus } from '../../src/desktop/portal-controller.js';
import { buildQuery, parseAnswer, udpQuery, waitFor } from '../helpers/dns-messages.js';
import { startFakePlain, type FakePlain } from '../helpers/fake-plain.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { spec, startStack, type Stack } from '../helpers/stack.js';
import { runCli, type CliRun } from '../helpers/run-cli.js';

const cli = (args: readonly string[]): Promise<CliRun> => runCli(args);

describe('portal mode', () => {
  let publicDot: FakeUpstream;
  let hotel: FakePlain;
  let stack: Stack;
  let clock: ManualClock;
  let web: Server;
  let page = 'login required';
  const control = join(mkdtempSync(join(tmpdir(), 'dotstub-portal-')), 'control.sock');
  const call = (params: unknown) => callDaemon('portal', params, { path: control }) as Promise<PortalStatus>;

  before(async () => {
    publicDot = await startFakeUpstream();
    hotel = await startFakePlain();
    web = createServer((req, res) => {
      if (page === 'success') res.end('success\n');
      else res.writeHead(302, { location: 'http://login.hotel.example/' }).end();
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    clock = new ManualClock();
    stack = await startStack({
      upstreams: [spec(publicDot.port)],
      control: { path: control, required: true },
      desktop: {
        watchNetwork: false,
        portalClock: clock,
        portal: {
          servers: [{ address: '127.0.0.1', port: hotel.port, pins: [] }],
          probeUrl: `http://127.0.0.1:${(web.address() as AddressInfo).port}/success.txt`,
          recheckMs: 15_000,
        },
      },
    });
  });

  after(async () => {
    await stack.close();
    await Promise.all([publicDot.close(), hotel.close()]);
    await new Promise((resolve) => web.close(resolve));
  });

  const ask = async (name: string) => parseAnswer(await udpQuery(stack.port, buildQuery(name, 'A')));

  it('sends names in clear to the network resolver only during the window, Strict after it', async () => {
    assert.equal((await ask('before.example')).rcode, 'NOERROR');
    assert.equal(publicDot.queries.length, 1);
    assert.equal(hotel.queries.length, 0);

    const opened = await call({ forMs: 300_000 });
    assert.equal(opened.active, true);
    assert.deepEqual(opened.servers, [`127.0.0.1#${hotel.port} (clear)`]);
    assert.ok(
      stack.log.some((l) => l.includes('PORTAL MODE') && l.includes('CLEAR TEXT')),
      'warned at start',
    );

    assert.equal((await ask('login.hotel.example')).rcode, 'NOERROR');
    assert.deepEqual(
      hotel.queries.map((q) => q.name),
      ['login.hotel.example'],
    );
    assert.equal(publicDot.queries.length, 1, 'nothing to the DoT upstream in the window');
    assert.equal((await ask('5.4.3.10.in-addr.arpa')).rcode, 'NXDOMAIN', 'local zones stay local');
    assert.equal(hotel.queries.length, 1);

    const warnings = (): number => stack.log.filter((l) => l.includes('PORTAL MODE')).length;
    const atStart = warnings();
    clock.advance(60_000);
    assert.equal(warnings(), atStart + 1, 'warned again after a minute');
    const status = (await callDaemon('network.status', undefined, { path: control })) as {
      portal: PortalStatus;
    };
    assert.equal(status.portal.active, true);
    assert.ok((status.portal.remainingMs ?? 0) <= 240_000);

    clock.advance(240_000);
    assert.equal((await call({})).active, false);
    assert.equal((await call({})).lastEnd, 'expired');
    assert.equal((await ask('after.example')).rcode, 'NOERROR');
    assert.equal(hotel.queries.length, 1, 'no clear text after the window');
    assert.equal(publicDot.queries.at(-1)?.name, 'after.example');
  });

  it('ends early when the probe page loads as it should, or when the user says --off', async () => {
    page = 'login required';
    await call({ forMs: 300_000 });
    clock.advance(15_000);
    await waitFor(() => stack.daemon.desktop.portal.status().detection !== undefined, 3000, 'a recheck');
    assert.equal(stack.daemon.desktop.portal.status().detection?.result, 'portal');
    assert.equal((await call({})).active, true, 'still behind the portal');
    page = 'success';
    clock.advance(15_000);
    await waitFor(() => !stack.daemon.desktop.portal.status().active, 3000, 'the window to end');
    assert.equal((await call({})).lastEnd, 'portal gone');

    await call({ forMs: 120_000 });
    const off = await call({ off: true });
    assert.equal(off.active, false);
    assert.equal(off.lastEnd, 'off');
    await assert.rejects(call({ forMs: 24 * 3_600_000 }), /forMs/);
  });

  it('detection reports a portal without downgrading', async () => {
    page = 'login required';
    assert.equal(await stack.daemon.desktop.portal.detect(), 'portal');
    assert.equal((await call({})).active, false);
    assert.ok(stack.log.some((l) => l.includes('captive portal seems to be in the way')));
    const before = hotel.queries.length;
    assert.equal((await ask('still-strict.example')).rcode, 'NOERROR');
    assert.equal(hotel.queries.length, before);
  });

  it('dotstub portal drives it from the command line', async () => {
    const on = await cli(['portal', '--for', '2m', '--control', control]);
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /portal mode ON: names go in CLEAR TEXT/);
    const json = await cli(['portal', '--status', '--json', '--control', control]);
    assert.equal((JSON.parse(json.stdout) as PortalStatus).active, true);
    const off = await cli(['portal', '--off', '--control', control]);
    assert.match(off.stdout, /portal mode off: Strict/);
    const bad = await cli(['portal', '--for', '3h', '--control', control]);
    assert.equal(bad.code, 78);
    assert.match(bad.stderr, /--for: "3h" is not a duration/);
  });
});
