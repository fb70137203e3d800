// Probes that connect in the background (src/resolver/background-probe.ts): with every upstream backing
// off, the one due soonest is probed by opening its connection; client queries ride on it for
// PROBE_WAIT_MS only, and the connect's outcome goes to upstream health. On a manual clock.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConnectError, ConnectTimeoutError } from '../../src/errors.js';
import { PROBE_WAIT_MS } from '../../src/resolver/background-probe.js';
import { BACKOFF, HeldUpstream, resolverOver } from '../helpers/held-upstream.js';

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function backingOff() {
  const up = new HeldUpstream('a').canWarm();
  up.connected = false;
  const env = resolverOver([up], 5000);
  const health = env.resolver.upstreams[0]!.health;
  health.failed(new ConnectError('a', new Error('refused')), env.clock.now());
  env.clock.advance(BACKOFF.baseMs); // the backoff is over: the next query promotes a probe
  return { up, health, ...env };
}

describe('background probes when every upstream backs off', () => {
  it('answers SERVFAIL after PROBE_WAIT_MS while the probe connect hangs, not after the query budget', () => {
    const { up, health, clock, ask, rcodes } = backingOff();
    ask('outage.example');
    assert.equal(up.warms.length, 1, 'a connect started without a query');
    assert.equal(up.held.length, 1, 'the query rides on it');
    assert.equal(health.state.kind, 'probing');
    clock.advance(PROBE_WAIT_MS - 1);
    assert.deepEqual(rcodes(), []);
    clock.advance(1);
    assert.deepEqual(rcodes(), ['SERVFAIL'], 'prompt, with 4.75 s of the deadline left');
    assert.equal(health.state.kind, 'probing', 'the connect still holds the probe');
    ask('rider.example'); // asked while the connect is still out: rides, and waits as long at most
    clock.advance(PROBE_WAIT_MS);
    assert.deepEqual(rcodes(), ['SERVFAIL', 'SERVFAIL']);
    assert.equal(up.warms.length, 1, 'one connect for both');
  });

  it('takes the next backoff step when the background connect fails', async () => {
    const { up, health, clock, ask } = backingOff();
    ask('outage.example');
    clock.advance(PROBE_WAIT_MS);
    up.warms[0]!.reject(new ConnectTimeoutError('a', 'tcp', 3000));
    await flush();
    assert.equal(health.state.kind, 'backingOff');
    assert.equal(health.backoffs, 2, 'one step for the probe');
  });

  it('makes the upstream usable again when the background connect succeeds, and answers riders in time', async () => {
    const { up, health, clock, ask, rcodes } = backingOff();
    ask('back.example');
    up.warms[0]!.resolve();
    await flush();
    assert.equal(health.state.kind, 'healthy');
    up.connected = true;
    up.answerAll(); // the connection came up within PROBE_WAIT_MS: the query rode on it and is answered
    assert.deepEqual(rcodes(), ['NOERROR']);
    ask('next.example');
    clock.advance(2000);
    assert.equal(up.held.length, 1, 'sent with a normal budget: no SERVFAIL at PROBE_WAIT_MS');
    up.answerAll();
    assert.deepEqual(rcodes(), ['NOERROR', 'NOERROR']);
  });

  it('keeps the old probe for an upstream that cannot connect without a query (or has a connection)', () => {
    const up = new HeldUpstream('a'); // no warm(): UDP, Opportunistic
    const { clock, resolver, ask, rcodes } = resolverOver([up], 5000);
    resolver.upstreams[0]!.health.failed(new ConnectError('a', new Error('refused')), clock.now());
    clock.advance(BACKOFF.baseMs);
    ask('probe.example');
    clock.advance(PROBE_WAIT_MS);
    assert.deepEqual(rcodes(), [], 'the query is the probe, with its full budget');
    up.answerAll();
    assert.deepEqual(rcodes(), ['NOERROR']);
  });
});
