import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { callDaemon } from '../../src/cli/control-client.js';
import { spkiPin } from '../../src/upstream/spki-pin.js';
import { DEFAULT_TLS_SETTINGS, type TlsSettings } from '../../src/server/tls-settings.js';
import { buildQuery, parseAnswer, waitFor } from '../helpers/dns-messages.js';
import { dotExchange } from '../helpers/dot-client.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { spec, startStack, type Stack } from '../helpers/stack.js';

const tmp = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));
const LIMITS = {
  maxConnections: 20,
  idleTimeoutMs: 10_000,
  partialFrameTimeoutMs: 400,
  maxInFlightPerClient: 64,
  maxPendingOutputBytes: 256 * 1024,
};

function tlsSettings(overrides: Partial<TlsSettings> = {}): TlsSettings {
  return { ...DEFAULT_TLS_SETTINGS, idleTimeoutMs: 1500, certDir: tmp('dotstub-cert-'), ...overrides };
}

async function dotStack(upstream: FakeUpstream, tls: TlsSettings, control?: string): Promise<Stack> {
  return startStack({
    upstreams: [spec(upstream.port)],
    maxConnectionsPerUpstream: 1,
    tcp: LIMITS,
    listenTls: [{ host: '127.0.0.1', port: 0 }],
    tls,
    ...(control === undefined ? {} : { control: { path: control, required: true } }),
  });
}

const tlsPort = (stack: Stack): number => stack.daemon.tlsAddresses[0]?.port ?? 0;

describe('DoT listener', () => {
  let upstream: FakeUpstream;
  let stack: Stack;
  const controlPath = join(tmp('dotstub-ctl-'), 'control.sock');
  before(async () => {
    upstream = await startFakeUpstream({});
    stack = await dotStack(upstream, tlsSettings(), controlPath);
  });
  after(async () => {
    await stack.close();
    await upstream.close();
  });

  it('answers pipelined queries on one connection in the order they complete, not the order asked', async () => {
    let held = 0;
    upstream.onQuery = (q) =>
      q.name.startsWith('ooo')
        ? ++held === 10
          ? { hold: true, release: { reverse: true } }
          : { hold: true }
        : undefined;
    const queries = Array.from({ length: 10 }, (_, i) => buildQuery(`ooo${i}.example`, 'A', { id: 100 + i }));
    const { answers } = await dotExchange(tlsPort(stack), queries);
    upstream.onQuery = undefined;
    assert.deepEqual(
      answers.map((a) => parseAnswer(a).id),
      queries.map((_, i) => 109 - i),
      'answers come back as the upstream released them: reversed',
    );
    answers.forEach((a) => {
      const parsed = parseAnswer(a);
      assert.equal(parsed.question?.name, `ooo${parsed.id - 100}.example`);
    });
  });

  it('pads answers to padded queries to a multiple of 468 octets, and only those (RFC 8467 sec. 4.1)', async () => {
    const padded = buildQuery('pad.example', 'A', { pad: 128, id: 1 });
    const plainEdns = buildQuery('pad.example', 'A', { udpSize: 1232, id: 2 });
    const noEdns = buildQuery('pad.example', 'TXT', { id: 3 });
    const { answers } = await dotExchange(tlsPort(stack), [padded, plainEdns, noEdns]);
    const byId = new Map(answers.map((a) => [parseAnswer(a).id, a]));
    const paddedAnswer = byId.get(1)!;
    assert.equal(paddedAnswer.length % 468, 0, `padded answer is ${paddedAnswer.length} octets`);
    assert.ok(parseAnswer(paddedAnswer).paddingLength! > 0);
    assert.equal(parseAnswer(paddedAnswer).answers?.length, 1, 'the records survive the padding');
    assert.equal(parseAnswer(byId.get(2)!).paddingLength, undefined);
    assert.equal(parseAnswer(byId.get(3)!).edns, undefined, 'no OPT for a client that sent none');
  });

  it('announces its idle timeout when the query carries tcp-keepalive (RFC 7828), in units of 100 ms', async () => {
    const asks = buildQuery('ka.example', 'A', { ednsOptions: [{ code: 11, data: Buffer.alloc(0) }], id: 7 });
    const silent = buildQuery('ka.example', 'A', { udpSize: 1232, id: 8 });
    const { answers } = await dotExchange(tlsPort(stack), [asks, silent]);
    const byId = new Map(answers.map((a) => [parseAnswer(a).id, parseAnswer(a)]));
    assert.equal(byId.get(7)?.keepalive, 15);
    assert.equal(byId.get(8)?.keepalive, undefined);
  });

  it('presents the generated ECDSA certificate whose pin the status reports, over TLS 1.3', async () => {
    const { cert, protocol } = await dotExchange(tlsPort(stack), [buildQuery('pin.example', 'A')]);
    const status = stack.daemon.listenerStatus();
    const [generated] = status.certificates;
    assert.ok(generated);
    assert.equal(generated.source, 'generated');
    assert.equal(generated.keyType, 'ec');
    assert.equal(spkiPin(cert!), generated.pin);
    assert.equal(protocol, 'TLSv1.3');
    await assert.rejects(
      dotExchange(tlsPort(stack), [buildQuery('old.example', 'A')], {
        tls: { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' },
      }),
    );
  });

  it('closes a client that never starts its handshake, and one stuck in a partial frame', async () => {
    const silent = netConnect(tlsPort(stack), '127.0.0.1');
    silent.on('error', () => undefined);
    const stuck = tlsConnect({ host: '127.0.0.1', port: tlsPort(stack), rejectUnauthorized: false });
    stuck.on('error', () => undefined);
    stuck.once('secureConnect', () => stuck.write(Buffer.from([0, 40, 1, 2, 3])));
    const closed = (s: NodeJS.EventEmitter): Promise<void> =>
      new Promise((r) =>
        s.once('close', () => {
          r();
        }),
      );
    // A healthy client is served meanwhile.
    const { answers } = await dotExchange(tlsPort(stack), [buildQuery('fresh.example', 'A')]);
    assert.equal(parseAnswer(answers[0]!).rcode, 'NOERROR');
    await Promise.all([closed(silent), closed(stuck)]);
    await waitFor(
      () => (stack.daemon.listenerStatus().listeners[0]?.handshakeFailures.timeout ?? 0) >= 1,
      3000,
      'the timeout counted',
    );
  });

  it('closes an idle connection after the idle timeout', async () => {
    const sock = tlsConnect({ host: '127.0.0.1', port: tlsPort(stack), rejectUnauthorized: false });
    sock.on('error', () => undefined);
    await new Promise<void>((r) =>
      sock.once('secureConnect', () => {
        r();
      }),
    );
    await new Promise<void>((r) =>
      sock.once('close', () => {
        r();
      }),
    );
    assert.ok(sock.destroyed);
  });

  it('reports connections, handshakes, refusals and TLS queries over the control socket', async () => {
    const status = (await callDaemon('listener.status', undefined, { path: controlPath })) as ReturnType<
      Stack['daemon']['listenerStatus']
    >;
    assert.equal(status.enabled, true);
    const listener = status.listeners[0]!;
    assert.equal(listener.port, tlsPort(stack));
    assert.ok(listener.connections.total >= 6);
    assert.ok(listener.connections.handshakes >= 5);
    assert.ok(status.queries >= 16, `queries ${status.queries}`);
    assert.equal(status.queries, stack.daemon.counters.queries.tls);
    assert.equal(status.ticketKeyShared, false);
  });
});

describe('DoT listener access', () => {
  let upstream: FakeUpstream;
  before(async () => {
    upstream = await startFakeUpstream({});
  });
  after(async () => {
    await upstream.close();
  });

  it('refuses a client outside the allow-list at connect, before any handshake', async () => {
    const stack = await dotStack(upstream, tlsSettings({ allow: ['192.0.2.0/24', '2001:db8::/32'] }));
    try {
      await assert.rejects(dotExchange(tlsPort(stack), [buildQuery('no.example', 'A')]));
      const status = stack.daemon.listenerStatus().listeners[0]!;
      assert.equal(status.refused.allowList, 1);
      assert.equal(status.connections.total, 0);
      assert.deepEqual(status.handshakeFailures, {}, 'no handshake was attempted');
      assert.equal(upstream.queries.filter((q) => q.name === 'no.example').length, 0);
    } finally {
      await stack.close();
    }
  });

  it('caps the connections one client address may hold', async () => {
    const stack = await dotStack(upstream, tlsSettings({ maxConnectionsPerClient: 2 }));
    const held = [0, 1].map(() => {
      const s = tlsConnect({ host: '127.0.0.1', port: tlsPort(stack), rejectUnauthorized: false });
      s.on('error', () => undefined);
      return s;
    });
    try {
      await Promise.all(
        held.map(
          (s) =>
            new Promise<void>((r) =>
              s.once('secureConnect', () => {
                r();
              }),
            ),
        ),
      );
      await assert.rejects(dotExchange(tlsPort(stack), [buildQuery('third.example', 'A')]));
      assert.equal(stack.daemon.listenerStatus().listeners[0]?.refused.perClient, 1);
      held[0]!.destroy();
      await waitFor(() => stack.daemon.listenerStatus().listeners[0]?.open === 1, 2000, 'a slot to free');
      const { answers } = await dotExchange(tlsPort(stack), [buildQuery('third.example', 'A')]);
      assert.equal(parseAnswer(answers[0]!).rcode, 'NOERROR');
    } finally {
      for (const s of held) s.destroy();
      await stack.close();
    }
  });

  it('refuses connections past tls.maxConnections and counts them', async () => {
    const stack = await dotStack(upstream, tlsSettings({ maxConnections: 1 }));
    const held = tlsConnect({ host: '127.0.0.1', port: tlsPort(stack), rejectUnauthorized: false });
    held.on('error', () => undefined);
    try {
      await new Promise<void>((r) =>
        held.once('secureConnect', () => {
          r();
        }),
      );
      await assert.rejects(dotExchange(tlsPort(stack), [buildQuery('over.example', 'A')]));
      assert.equal(stack.daemon.listenerStatus().listeners[0]?.refused.capacity, 1);
    } finally {
      held.destroy();
      await stack.close();
    }
  });

  it('serves configured certificate files and refuses a key that does not match', async () => {
    const { getTestPki } = await import('../helpers/test-certs.js');
    const { writeFileSync } = await import('node:fs');
    const dir = tmp('dotstub-certs-');
    const pki = getTestPki();
    writeFileSync(join(dir, 'cert.pem'), pki.leaf.chain);
    writeFileSync(join(dir, 'key.pem'), pki.leaf.key);
    writeFileSync(join(dir, 'other.pem'), pki.selfSigned.key);
    const stack = await dotStack(
      upstream,
      tlsSettings({ certs: [{ cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') }] }),
    );
    try {
      const { cert } = await dotExchange(tlsPort(stack), [buildQuery('cfg.example', 'A')]);
      assert.equal(spkiPin(cert!), pki.leaf.pin);
      assert.equal(stack.daemon.listenerStatus().certificates[0]?.source, 'config');
    } finally {
      await stack.close();
    }
    await assert.rejects(
      dotStack(
        upstream,
        tlsSettings({ certs: [{ cert: join(dir, 'cert.pem'), key: join(dir, 'other.pem') }] }),
      ),
      { code: 'ERR_DOTSTUB_CONFIG', message: /tls\.certs\[0\].*does not belong/ },
    );
  });
});
