import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TLS_SETTINGS, type TlsSettings } from '../../src/server/tls-settings.js';
import { systemClock, type Clock, type Timer } from '../../src/util/clock.js';
import { buildQuery, parseAnswer } from '../helpers/dns-messages.js';
import { dotExchange } from '../helpers/dot-client.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { spec, startStack, type Stack } from '../helpers/stack.js';

const HOUR = 3600_000;

/** The real clock for the data path; timers longer than a minute (ticket rotation) wait for fire(). */
class LongTimerClock implements Clock {
  readonly parked = new Set<() => void>();
  now(): number {
    return systemClock.now();
  }
  setTimeout(fn: () => void, ms: number): Timer {
    if (ms < 60_000) return systemClock.setTimeout(fn, ms);
    const parked = this.parked;
    parked.add(fn);
    return {
      clear: () => parked.delete(fn),
      refresh: () => parked.add(fn),
    };
  }
  fire(): void {
    const due = [...this.parked];
    this.parked.clear();
    for (const fn of due) fn();
  }
}

describe('DoT listener session tickets', () => {
  let upstream: FakeUpstream;
  const stacks: Stack[] = [];
  const certDir = mkdtempSync(join(tmpdir(), 'dotstub-cert-'));
  const secretFile = join(certDir, 'ticket-secret');
  let wall = 1_900_000_000_000 + HOUR / 2; // mid-epoch
  before(async () => {
    upstream = await startFakeUpstream({});
    writeFileSync(secretFile, randomBytes(48).toString('base64'), { mode: 0o600 });
  });
  after(async () => {
    await Promise.all(stacks.map((s) => s.close()));
    await upstream.close();
  });

  async function instance(
    settings: Partial<TlsSettings>,
    clock: Clock,
  ): Promise<{ stack: Stack; port: number }> {
    const stack = await startStack({
      upstreams: [spec(upstream.port)],
      listenTls: [{ host: '127.0.0.1', port: 0 }],
      tls: { ...DEFAULT_TLS_SETTINGS, certDir, ticketRotationMs: HOUR, ...settings },
      wallNow: () => wall,
      clock,
    });
    stacks.push(stack);
    return { stack, port: stack.daemon.tlsAddresses[0]?.port ?? 0 };
  }

  const ask = (port: number, session?: Buffer): ReturnType<typeof dotExchange> =>
    dotExchange(port, [buildQuery('t.example', 'A')], session === undefined ? {} : { tls: { session } });

  it('resumes on instance B a session made on instance A when both read the same secret, across rotations', async () => {
    const clockA = new LongTimerClock();
    const clockB = new LongTimerClock();
    const a = await instance({ ticketSecretFile: secretFile }, clockA);
    const b = await instance({ ticketSecretFile: secretFile }, clockB);
    const first = await ask(a.port);
    assert.equal(first.resumed, false);
    assert.ok(first.session);
    const onB = await ask(b.port, first.session);
    assert.equal(onB.resumed, true, 'B decrypts the ticket A issued');
    assert.equal(parseAnswer(onB.answers[0]!).rcode, 'NOERROR');
    assert.equal(b.stack.daemon.listenerStatus().listeners[0]?.connections.resumed, 1);
    assert.equal(b.stack.daemon.listenerStatus().ticketKeyShared, true);

    // One rotation period later both derive the next key on their own.
    wall += HOUR;
    clockA.fire();
    clockB.fire();
    assert.equal(a.stack.daemon.listenerStatus().ticketKeyRotations, 1);
    assert.equal(b.stack.daemon.listenerStatus().ticketKeyRotations, 1);
    // Node holds one ticket key: a ticket from before the rotation gets a full handshake, and an answer.
    const stale = await ask(a.port, first.session);
    assert.equal(stale.resumed, false);
    assert.equal(parseAnswer(stale.answers[0]!).rcode, 'NOERROR');
    const fresh = await ask(b.port, stale.session);
    assert.equal(fresh.resumed, true, 'after the rotation the instances agree again');
  });

  it('does not resume across instances with random keys, and rotates a random key', async () => {
    const clockC = new LongTimerClock();
    const c = await instance({}, clockC);
    const d = await instance({}, new LongTimerClock());
    const first = await ask(c.port);
    assert.equal((await ask(c.port, first.session)).resumed, true, 'same instance resumes');
    assert.equal((await ask(d.port, first.session)).resumed, false, 'another instance cannot');
    wall += HOUR;
    clockC.fire();
    assert.equal((await ask(c.port, first.session)).resumed, false, 'the key changed');
    assert.equal(c.stack.daemon.listenerStatus().ticketKeyShared, false);
  });
});
