// Sleep and network-change recovery through the real daemon, with injected clocks: stale connections are
// dropped, backoff is forgotten, listeners hear 'network-change', and upstreams without a route are skipped.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import type { NetworkInterfaceInfo } from 'node:os';
import { ConnectError } from '../../src/errors.js';
import type { NetworkChangeEvent } from '../../src/desktop/desktop-life.js';
import { buildQuery, parseAnswer, udpQuery, waitFor } from '../helpers/dns-messages.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { spec, startStack, type Stack } from '../helpers/stack.js';

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function upstream(host: '127.0.0.1' | '::1', dead?: Set<number>): Promise<FakeUpstream> {
  const u = await startFakeUpstream({
    host,
    // A connection that lived through the sleep is a black hole: the NAT or the peer forgot it.
    onQuery: (q) => (dead?.has(q.connectionIndex) === true ? { drop: true } : undefined),
  });
  cleanups.push(() => u.close());
  return u;
}

function track(stack: Stack): void {
  cleanups.push(() => stack.close());
}

const lan = (address: string): NodeJS.Dict<NetworkInterfaceInfo[]> => ({
  wlan0: [
    {
      address,
      netmask: '255.255.255.0',
      family: 'IPv4',
      mac: '02:00:00:00:00:01',
      internal: false,
      cidr: `${address}/24`,
    },
  ],
});

describe('wake from sleep', () => {
  it('answers the first query after a wake within 2 s, on a fresh connection, despite a dead socket and a 90 s backoff', async () => {
    const dead = new Set<number>();
    const u = await upstream('127.0.0.1', dead);
    let wall = 1_700_000_000_000;
    let mono = 0;
    const timers = new ManualClock();
    const stack = await startStack({
      upstreams: [spec(u.port)],
      timeoutMs: 5000,
      // stubby-style: a failed upstream sits out 90 s.
      backoff: { baseMs: 90_000, capMs: 90_000, jitter: 0 },
      desktop: {
        wake: { wallNow: () => wall, monoNow: () => mono, clock: timers, intervalMs: 5000 },
        network: { clock: timers, interfaces: () => lan('192.168.1.20') },
        routeProbe: () => Promise.resolve(true),
      },
    });
    track(stack);
    const events: NetworkChangeEvent[] = [];
    stack.daemon.events.on('network-change', (e: NetworkChangeEvent) => events.push(e));

    const first = parseAnswer(await udpQuery(stack.port, buildQuery('before.example', 'A')));
    assert.equal(first.rcode, 'NOERROR');
    assert.equal(u.connectionLog.length, 1);

    // The lid closes: the open connection dies silently, and the dark minutes before the wake left
    // connect failures behind (what made stubby sit out its backoff).
    dead.add(0);
    const health = stack.daemon.resolver.upstreams[0]!.health;
    health.failed(new ConnectError('x', new Error('ENETUNREACH')), performance.now(), () => 0.5);
    assert.equal(health.state.kind, 'backingOff');

    // Without noticing the wake, a query goes to the dead socket and gets nothing in 2 s.
    await assert.rejects(
      udpQuery(stack.port, buildQuery('unnoticed.example', 'A'), { timeoutMs: 2000 }),
      /timed out/,
    );

    // An hour asleep: the wall clock jumped, the monotonic one did not.
    wall += 3_600_000 + 5000;
    mono += 5000;
    const changed = once(stack.daemon.events, 'network-change');
    timers.advance(5000);
    await changed;
    const wake = events[0]!;
    assert.equal(wake.reason, 'wake');
    assert.ok(Math.abs((wake.sleptMs ?? 0) - 3_600_000) < 1000);
    assert.equal(health.state.kind, 'healthy', 'backoff forgotten');

    const after = parseAnswer(
      await udpQuery(stack.port, buildQuery('after.example', 'A'), { timeoutMs: 2000 }),
    );
    assert.equal(after.rcode, 'NOERROR');
    const last = u.queries.at(-1)!;
    assert.equal(last.name, 'after.example');
    assert.notEqual(last.connectionIndex, 0, 'answered on a fresh connection');
    assert.equal(stack.daemon.desktop.status().network.wakes, 1);
  });
});

describe('network change', () => {
  it('drops connections and forgets backoff once the new addresses have settled', async () => {
    const u = await upstream('127.0.0.1');
    const timers = new ManualClock();
    let interfaces = lan('192.168.1.20');
    const stack = await startStack({
      upstreams: [spec(u.port)],
      desktop: {
        wake: { clock: timers },
        network: { clock: timers, interfaces: () => interfaces, intervalMs: 3000, debounceMs: 1000 },
        routeProbe: () => Promise.resolve(true),
        reprobe: false,
      },
    });
    track(stack);
    const events: NetworkChangeEvent[] = [];
    stack.daemon.events.on('network-change', (e: NetworkChangeEvent) => events.push(e));
    assert.equal(parseAnswer(await udpQuery(stack.port, buildQuery('a.example', 'A'))).rcode, 'NOERROR');
    await waitFor(() => u.connectionLog[0]?.handshakeDone === true, 2000, 'the connection');

    interfaces = lan('10.20.30.40'); // roamed to another network
    assert.equal(await stack.daemon.desktop.watcher.poll(), false, 'not settled yet');
    timers.advance(1000);
    assert.equal(await stack.daemon.desktop.watcher.poll(), true);
    await waitFor(() => events.length === 1, 2000, 'the network-change event');
    assert.equal(events[0]?.reason, 'network');
    await waitFor(() => u.connectionLog[0]?.closed === true, 2000, 'the old connection to close');
    assert.equal(parseAnswer(await udpQuery(stack.port, buildQuery('b.example', 'A'))).rcode, 'NOERROR');
    assert.equal(u.queries.at(-1)?.connectionIndex, 1);
    assert.equal(stack.daemon.desktop.status().network.changes, 1);
  });
});

describe('IPv6 upstreams without an IPv6 route', () => {
  it('are skipped without being charged a failure, and used again once a route appears', async () => {
    const v6 = await upstream('::1');
    const v4 = await upstream('127.0.0.1');
    const timers = new ManualClock();
    let v6Route = false;
    const probed: string[] = [];
    const stack = await startStack({
      upstreams: [spec(v6.port, { authName: 'dot.test' }, '::1'), spec(v4.port)],
      selection: 'ordered',
      desktop: {
        wake: { clock: timers },
        network: { clock: timers, interfaces: () => lan('192.168.1.20'), debounceMs: 0 },
        routeProbe: (address) => {
          probed.push(address);
          return Promise.resolve(!address.includes(':') || v6Route);
        },
        reprobe: false,
      },
    });
    track(stack);
    assert.ok(probed.includes('::1'));
    for (const name of ['one.example', 'two.example']) {
      assert.equal(parseAnswer(await udpQuery(stack.port, buildQuery(name, 'A'))).rcode, 'NOERROR');
    }
    assert.equal(v6.queries.length, 0, 'nothing sent toward the unroutable upstream');
    assert.equal(v6.connectionLog.length, 0);
    assert.equal(v4.queries.length, 2);
    assert.equal(stack.daemon.resolver.upstreams[0]?.health.state.kind, 'healthy', 'not a failure');
    assert.deepEqual(stack.daemon.desktop.status().network.unreachable, ['::1']);

    v6Route = true;
    assert.equal(await stack.daemon.desktop.watcher.poll(), true);
    assert.equal(parseAnswer(await udpQuery(stack.port, buildQuery('three.example', 'A'))).rcode, 'NOERROR');
    assert.equal(v6.queries.length, 1, 'the first (ordered) upstream is used again');
    assert.deepEqual(stack.daemon.desktop.status().network.unreachable, []);
  });
});

describe('start', () => {
  it('connects to each public upstream before the first query, and the first query uses that connection', async () => {
    const a = await upstream('127.0.0.1');
    const b = await upstream('127.0.0.1');
    const stack = await startStack({
      upstreams: [spec(a.port), spec(b.port)],
      desktop: { watchNetwork: false, routeProbe: () => Promise.resolve(true) },
    });
    track(stack);
    await waitFor(() => a.connections === 1 && b.connections === 1, 3000, 'a connection to each upstream');
    assert.equal(a.queries.length + b.queries.length, 0, 'no query was needed to open them');
    await waitFor(
      () => stack.daemon.upstreams.every((u) => u.connections.some((c) => c.state !== 'closed')),
      3000,
      'handshakes',
    );

    assert.equal(parseAnswer(await udpQuery(stack.port, buildQuery('first.example', 'A'))).rcode, 'NOERROR');
    assert.equal(a.connections, 1, 'no second connection: the warm one answered');
    assert.equal(a.queries[0]?.connectionIndex, 0);
  });

  it('opens nothing before a query when reprobe is off', async () => {
    const u = await upstream('127.0.0.1');
    const stack = await startStack({
      upstreams: [spec(u.port)],
      desktop: { watchNetwork: false, reprobe: false, routeProbe: () => Promise.resolve(true) },
    });
    track(stack);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(u.connections, 0);
    assert.equal(parseAnswer(await udpQuery(stack.port, buildQuery('lazy.example', 'A'))).rcode, 'NOERROR');
    assert.equal(u.connections, 1);
  });
});
