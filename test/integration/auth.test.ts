import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { buildQuery, parseAnswer, udpQuery } from '../helpers/dns-messages.js';
import { startFakePlain, type FakePlain } from '../helpers/fake-plain.js';
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from '../helpers/fake-upstream.js';
import { spec, startStack } from '../helpers/stack.js';
import { getTestPki } from '../helpers/test-certs.js';

const pki = getTestPki();

interface Outcome {
  rcode: string | undefined;
  upstream: FakeUpstream;
  log: string;
  ms: number;
}

/** One Strict query against an upstream with the given certificate and the given auth settings. */
async function strictQuery(
  server: FakeUpstreamOptions,
  auth: { pins?: string[]; authName?: string },
): Promise<Outcome> {
  const upstream = await startFakeUpstream(server);
  const stack = await startStack({ upstreams: [spec(upstream.port, auth)] });
  try {
    const started = Date.now();
    const answer = parseAnswer(
      await udpQuery(stack.port, buildQuery('auth.example', 'A'), { timeoutMs: 4000 }),
    );
    return { rcode: answer.rcode, upstream, log: stack.log.join('\n'), ms: Date.now() - started };
  } finally {
    await stack.close();
    await upstream.close();
  }
}

function assertRefused(outcome: Outcome, logPattern: RegExp): void {
  assert.equal(outcome.rcode, 'SERVFAIL');
  assert.equal(outcome.upstream.queries.length, 0, 'the upstream received no query');
  assert.equal(outcome.upstream.bytesReceived, 0, 'not one application byte reached the upstream');
  assert.match(outcome.log, logPattern);
  assert.ok(outcome.ms < 2000, `SERVFAIL came promptly (${outcome.ms} ms)`);
}

describe('Strict authentication (RFC 8310 sec. 5, RFC 7858 sec. 4.2)', () => {
  it('accepts a pin on the CA of a valid chain, with the name checked too', async () => {
    const o = await strictQuery({}, { pins: [pki.ca.pin], authName: 'dot.test' });
    assert.equal(o.rcode, 'NOERROR');
    assert.equal(o.upstream.queries.length, 1);
    assert.equal(o.upstream.connectionLog[0]!.servername, 'dot.test', 'SNI is the authentication name');
    assert.deepEqual(o.upstream.connectionLog[0]!.alpnOffered, ['dot']);
  });

  it('reaches a server that refuses ALPN "dot" with a fatal alert by one handshake without, and remembers', async () => {
    // alpnSelect refusing everything: the fake answers an offer of "dot" with no_application_protocol.
    const o = await strictQuery(
      { alpnSelect: () => undefined },
      { pins: [pki.ca.pin], authName: 'dot.test' },
    );
    assert.equal(o.rcode, 'NOERROR');
    assert.equal(o.upstream.queries.length, 1);
    const offers = o.upstream.connectionLog.map((c) => c.alpnOffered);
    assert.deepEqual(offers[0], ['dot'], 'the first handshake offers "dot"');
    assert.ok(offers.length >= 2, `${offers.length} connections`);
    assert.ok(
      offers.slice(1).every((offer) => offer.length === 0),
      `after the alert no handshake offers ALPN: ${JSON.stringify(offers)}`,
    );
    assert.match(o.log, /refuses ALPN dot; connecting without ALPN/);
  });

  it('accepts a pin-only upstream with a self-signed certificate', async () => {
    const o = await strictQuery(
      { cert: pki.selfSigned.cert, key: pki.selfSigned.key },
      { pins: [pki.selfSigned.pin] },
    );
    assert.equal(o.rcode, 'NOERROR');
  });

  it('accepts a name-only upstream whose chain leads to a trusted CA', async () => {
    const o = await strictQuery({}, { authName: 'dot.test' });
    assert.equal(o.rcode, 'NOERROR');
  });

  it('refuses a pin mismatch and logs the pins it saw', async () => {
    const o = await strictQuery({}, { pins: [pki.selfSigned.pin] });
    assertRefused(o, /pin-mismatch/);
    assert.ok(
      o.log.includes(pki.leaf.pin) && o.log.includes(pki.ca.pin),
      'the log shows the pins the server presented',
    );
  });

  it('refuses the forged chain: an attacker leaf sent with the genuine pinned CA (N1)', async () => {
    const o = await strictQuery({ cert: pki.attacker.chain, key: pki.attacker.key }, { pins: [pki.ca.pin] });
    assertRefused(o, /pin-mismatch/);
  });

  it('refuses an expired certificate', async () => {
    assertRefused(
      await strictQuery({ cert: pki.expired.chain, key: pki.expired.key }, { authName: 'dot.test' }),
      /\(expired\).*CERT_HAS_EXPIRED/,
    );
  });

  it('refuses a certificate that is not valid yet', async () => {
    assertRefused(
      await strictQuery({ cert: pki.notYetValid.chain, key: pki.notYetValid.key }, { authName: 'dot.test' }),
      /not-yet-valid/,
    );
  });

  it('refuses a certificate for another name, and says which name it is for', async () => {
    assertRefused(
      await strictQuery({ cert: pki.wrongName.chain, key: pki.wrongName.key }, { authName: 'dot.test' }),
      /name-mismatch.*the certificate is not for dot\.test: it is for DNS:other\.test/,
    );
  });

  it('refuses a chain from an untrusted CA, and says to add --ca-file or pin', async () => {
    assertRefused(
      await strictQuery({ cert: pki.otherLeaf.chain, key: pki.otherLeaf.key }, { authName: 'dot.test' }),
      /untrusted.*--ca-file/,
    );
  });

  it('refuses a self-signed certificate by name', async () => {
    assertRefused(
      await strictQuery({ cert: pki.selfSigned.cert, key: pki.selfSigned.key }, { authName: 'dot.test' }),
      /self-signed/,
    );
  });

  it('requires both when both pin and name are configured: a matching pin does not excuse a wrong name', async () => {
    assertRefused(
      await strictQuery(
        { cert: pki.wrongName.chain, key: pki.wrongName.key },
        { pins: [pki.ca.pin], authName: 'dot.test' },
      ),
      /name-mismatch/,
    );
  });

  it('refuses a server that only speaks TLS 1.1', async () => {
    const o = await strictQuery({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, { authName: 'dot.test' });
    assert.equal(o.rcode, 'SERVFAIL');
    assert.equal(o.upstream.queries.length, 0);
  });

  it('refuses a server that stalls the handshake, within the deadline', async () => {
    const o = await strictQuery({ stallHandshake: true }, { authName: 'dot.test' });
    assert.equal(o.rcode, 'SERVFAIL');
    assert.match(o.log, /TLS handshake to .* timed out/);
  });
});

describe('Strict never sends in clear', () => {
  let plain: FakePlain;
  after(async () => {
    await plain.close();
  });

  it('sends nothing to the clear-text port of the same server, whatever fails (test plan A)', async () => {
    plain = await startFakePlain();
    const failing: [string, FakeUpstreamOptions, { pins?: string[]; authName?: string }][] = [
      ['pin mismatch', {}, { pins: [pki.selfSigned.pin] }],
      ['forged chain', { cert: pki.attacker.chain, key: pki.attacker.key }, { pins: [pki.ca.pin] }],
      ['expired', { cert: pki.expired.chain, key: pki.expired.key }, { authName: 'dot.test' }],
      ['not yet valid', { cert: pki.notYetValid.chain, key: pki.notYetValid.key }, { authName: 'dot.test' }],
      ['wrong name', { cert: pki.wrongName.chain, key: pki.wrongName.key }, { authName: 'dot.test' }],
      ['untrusted CA', { cert: pki.otherLeaf.chain, key: pki.otherLeaf.key }, { authName: 'dot.test' }],
      ['self-signed', { cert: pki.selfSigned.cert, key: pki.selfSigned.key }, { authName: 'dot.test' }],
      ['TLS 1.1 only', { minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }, { authName: 'dot.test' }],
      ['handshake stall', { stallHandshake: true }, { authName: 'dot.test' }],
      ['reset', { rstOnConnect: true }, { authName: 'dot.test' }],
    ];
    for (const [what, server, auth] of failing) {
      const upstream = await startFakeUpstream(server);
      // The clear-text port points at the counting server: were Strict ever to fall back, it would land there.
      const stack = await startStack({
        upstreams: [{ ...spec(upstream.port, auth), profile: 'strict', clearPort: plain.port }],
        connectTimeoutMs: 500,
      });
      const answer = parseAnswer(
        await udpQuery(stack.port, buildQuery('clear.example', 'A'), { timeoutMs: 4000 }),
      );
      assert.equal(answer.rcode, 'SERVFAIL', what);
      assert.equal(upstream.queries.length, 0, `${what}: no query reached the TLS server`);
      await stack.close();
      await upstream.close();
    }
    assert.equal(plain.udpPackets, 0);
    assert.equal(plain.tcpConnections, 0);
  });
});

describe('TLS session resumption', () => {
  it('resumes on reconnect, only with a session from an authenticated handshake', async () => {
    const upstream = await startFakeUpstream({ keepaliveTimeout: 0 });
    const stack = await startStack({
      upstreams: [spec(upstream.port, { pins: [pki.ca.pin], authName: 'dot.test' })],
    });
    try {
      // Keepalive 0 makes each answer the last on its connection (RFC 7828 sec. 3.2.2), so each query reconnects.
      for (let i = 0; i < 3; i++)
        assert.equal(
          parseAnswer(await udpQuery(stack.port, buildQuery(`r${i}.example`, 'A'))).rcode,
          'NOERROR',
        );
      assert.equal(upstream.connections, 3);
      assert.ok(upstream.resumptions >= 1, `resumptions: ${upstream.resumptions}`);
      assert.ok(stack.daemon.upstreams[0]!.counters.resumptions >= 1);
    } finally {
      await stack.close();
      await upstream.close();
    }
  });
});
