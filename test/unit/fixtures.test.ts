// Proves the test fixtures (certs, fake upstream, fake plain server, message helpers) behave as documented.
import { strict as assert } from 'node:assert';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { buildAnswer, frame } from '../helpers/dns-answer.js';
import {
  buildQuery,
  parseAnswer,
  sleep,
  tcpQuery,
  TcpQueryError,
  udpQuery,
} from '../helpers/dns-messages.js';
import { startFakePlain } from '../helpers/fake-plain.js';
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from '../helpers/fake-upstream.js';
import { caFile, getTestPki, pinDirective, spkiPinOf } from '../helpers/test-certs.js';

const pki = getTestPki();
const trustCa: ConnectionOptions = { ca: pki.ca.cert, servername: 'dot.test', ALPNProtocols: ['dot'] };

async function withUpstream(
  opts: FakeUpstreamOptions,
  fn: (u: FakeUpstream) => Promise<void>,
): Promise<void> {
  const upstream = await startFakeUpstream(opts);
  try {
    await fn(upstream);
  } finally {
    await upstream.close();
  }
}

/** Connects, waits for the handshake, returns the socket or the TLS error code. */
function handshake(
  port: number,
  opts: ConnectionOptions,
  onSession?: (s: Buffer) => void,
): Promise<{ sock?: TLSSocket; code?: string }> {
  return new Promise((resolve) => {
    const sock = tlsConnect({ host: '127.0.0.1', port, ...opts }, () => {
      resolve({ sock });
    });
    // TLS 1.2 emits 'session' before secureConnect, TLS 1.3 after: listen from the start.
    if (onSession) sock.on('session', onSession);
    sock.on('error', (err: NodeJS.ErrnoException) => {
      resolve({ code: err.code ?? err.message });
    });
  });
}

void describe('test-certs', () => {
  void it('computes SPKI pins as base64 sha256 and formats directives', () => {
    assert.match(pki.ca.pin, /^[A-Za-z0-9+/]{43}=$/);
    assert.equal(pki.leaf.pin, spkiPinOf(pki.leaf.cert));
    assert.equal(pki.expired.pin, pki.leaf.pin, 'expired shares the leaf key');
    assert.notEqual(pki.attacker.pin, pki.ca.pin);
    assert.equal(pinDirective('abc='), 'pin-sha256="abc="');
    assert.equal(readFileSync(caFile(), 'utf8'), pki.ca.cert);
    assert.equal(getTestPki(), pki, 'cached');
  });

  void it('builds the N1 forged chain: issuer DN of the CA, signature of the attacker', () => {
    const ca = new X509Certificate(pki.ca.cert);
    const forged = new X509Certificate(pki.attacker.cert);
    const genuine = new X509Certificate(pki.leaf.cert);
    assert.ok(ca.ca);
    assert.equal(forged.issuer, ca.subject);
    assert.ok(forged.checkIssued(ca), 'names and key ids chain');
    assert.equal(forged.verify(ca.publicKey), false);
    assert.equal(genuine.verify(ca.publicKey), true);
    assert.ok(pki.attacker.chain.endsWith(pki.ca.cert));
    assert.match(
      genuine.subjectAltName ?? '',
      /DNS:dot\.test.*IP Address:127\.0\.0\.1.*IP Address:0:0:0:0:0:0:0:1/,
    );
  });

  const cases: [string, { cert: string; key: string }, ConnectionOptions, string | undefined][] = [
    ['leaf on dot.test', { cert: pki.leaf.chain, key: pki.leaf.key }, trustCa, undefined],
    ['leaf on IP 127.0.0.1', { cert: pki.leaf.chain, key: pki.leaf.key }, { ca: pki.ca.cert }, undefined],
    ['expired', { cert: pki.expired.chain, key: pki.expired.key }, trustCa, 'CERT_HAS_EXPIRED'],
    ['notYetValid', { cert: pki.notYetValid.chain, key: pki.notYetValid.key }, trustCa, 'CERT_NOT_YET_VALID'],
    [
      'wrongName',
      { cert: pki.wrongName.chain, key: pki.wrongName.key },
      trustCa,
      'ERR_TLS_CERT_ALTNAME_INVALID',
    ],
    [
      'selfSigned',
      { cert: pki.selfSigned.cert, key: pki.selfSigned.key },
      trustCa,
      'DEPTH_ZERO_SELF_SIGNED_CERT',
    ],
    [
      'otherLeaf',
      { cert: pki.otherLeaf.chain, key: pki.otherLeaf.key },
      trustCa,
      'SELF_SIGNED_CERT_IN_CHAIN',
    ],
    [
      'attacker chain',
      { cert: pki.attacker.chain, key: pki.attacker.key },
      trustCa,
      'CERT_SIGNATURE_FAILURE',
    ],
  ];
  for (const [label, creds, client, expected] of cases) {
    void it(`node tls with the test CA: ${label} -> ${expected ?? 'trusted'}`, () =>
      withUpstream(creds, async (u) => {
        const r = await handshake(u.port, client);
        r.sock?.destroy();
        assert.equal(r.code, expected);
      }));
  }
});

void describe('fake upstream', () => {
  void it('answers pipelined queries in one write and records them', () =>
    withUpstream({}, async (u) => {
      const qs = [1, 2, 3].map((id) => buildQuery(`Q${id}.Example.`, 'A', { id }));
      const answers = (await tcpQuery(u.port, qs, { tls: trustCa })).map(parseAnswer);
      assert.deepEqual(
        answers.map((a) => a.id),
        [1, 2, 3],
      );
      assert.equal(answers[0]?.question?.name, 'Q1.Example', 'case preserved');
      assert.deepEqual(answers[0].answerData, ['192.0.2.1']);
      assert.ok(answers[0].qr && answers[0].ra && answers[0].rd);
      assert.equal(u.queries.length, 3);
      assert.deepEqual(u.queries[2]?.raw, qs[2]);
      assert.deepEqual([u.connections, u.handshakes, u.queries[1]?.queryIndexOnConnection], [1, 1, 1]);
      assert.deepEqual([u.connectionLog[0]?.alpnOffered, u.connectionLog[0]?.alpnProtocol], [['dot'], 'dot']);
      assert.equal(u.connectionLog[0]?.servername, 'dot.test');
    }));

  void it('rst makes the client see ECONNRESET', () =>
    withUpstream({ onQuery: () => ({ rst: true }) }, async (u) => {
      const err = await tcpQuery(u.port, [buildQuery('a.test', 'A')], { tls: trustCa }).then(
        () => assert.fail('expected a reset'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof TcpQueryError);
      assert.equal((err.cause as NodeJS.ErrnoException).code, 'ECONNRESET');
    }));

  void it('hold + release reverse delivers answers in reverse order', () =>
    withUpstream(
      {
        onQuery: (_q, ctx) =>
          ctx.queryIndexOnConnection < 2 ? { hold: true } : { hold: true, release: { reverse: true } },
      },
      async (u) => {
        const qs = [10, 11, 12].map((id) => buildQuery('r.test', 'AAAA', { id }));
        const ids = (await tcpQuery(u.port, qs, { tls: trustCa })).map((a) => a.readUInt16BE(0));
        assert.deepEqual(ids, [12, 11, 10]);
      },
    ));

  for (const [version, opts] of [
    ['TLSv1.3 ticket', {}],
    ['TLSv1.2 session id', { maxVersion: 'TLSv1.2', sessionTickets: false }],
  ] as const) {
    void it(`counts resumptions (${version})`, () =>
      withUpstream(opts, async (u) => {
        let session: Buffer | undefined;
        const first = await handshake(u.port, trustCa, (s) => (session = s));
        first.sock?.write(frame(buildQuery('s.test', 'A')));
        await u.waitForQueries(1);
        await new Promise((r) => setTimeout(r, 50));
        first.sock?.end();
        assert.ok(session, 'client got a session');
        const second = await handshake(u.port, { ...trustCa, session });
        assert.equal(second.sock?.isSessionReused(), true);
        // The client finishes its handshake before the server's 'secure' event, and destroying the socket
        // right away can RST away the client's Finished: send a query and wait for it first.
        second.sock.write(frame(buildQuery('s.test', 'A')));
        await u.waitForQueries(2);
        await u.waitForHandshakes(2);
        second.sock.destroy();
        assert.deepEqual([u.connections, u.handshakes, u.resumptions], [2, 2, 1]);
        assert.equal(u.connectionLog[1]?.tlsVersion, opts.maxVersion ?? 'TLSv1.3');
      }));
  }

  void it('builds default answers with EDNS keepalive, padding, echoed options and raw questions', () =>
    withUpstream({ keepaliveTimeout: 0, padAnswers: true, echoEdnsOptions: true }, async (u) => {
      const q = buildQuery('Svc.Test', 'HTTPS', {
        id: 7,
        do: true,
        ednsOptions: [{ code: 65001, data: Buffer.from('x') }],
      });
      const [raw] = await tcpQuery(u.port, [q], { tls: trustCa });
      const a = parseAnswer(raw!);
      assert.equal(raw!.length % 468, 0);
      assert.deepEqual(
        [a.keepalive, a.question?.type, a.question?.name, a.answers?.length],
        [0, 65, 'Svc.Test', 0],
      );
      assert.deepEqual(a.edns?.options.find((o) => o.code === 65001)?.data, Buffer.from('x'));
      assert.deepEqual([a.edns.udpSize, a.edns.do], [1232, true]);
      assert.equal(u.queries[0]?.type, 65);
    }));

  void it('survives garbage and reassembles frames split into 1-byte writes', () =>
    withUpstream({ tls: false }, async (u) => {
      const q = buildQuery('split.test', 'TXT', { id: 99 });
      const wire = Buffer.concat([frame(Buffer.from('junk')), frame(q), frame(q)]);
      const answers = await tcpQuery(u.port, [], {
        expect: 2,
        chunks: { size: 1, delayMs: 1 },
        rawPayload: wire,
      });
      assert.deepEqual(
        answers.map((a) => parseAnswer(a).id),
        [99, 99],
      );
      assert.deepEqual([u.garbage.length, u.queries.length, u.bytesReceived], [1, 2, wire.length]);
    }));

  void it('variants: wrong id, wrong name, rcode, duplicate, big TXT, closeAfterQueries', () =>
    withUpstream(
      {
        tls: false,
        closeAfterQueries: 5,
        onQuery: (q) =>
          [
            { answerWithId: 4242 },
            { answerWithName: 'evil.test' },
            { rcode: 'NXDOMAIN' as const },
            { duplicate: true },
            { bigTxtBytes: 3000 },
          ][q.queryIndexOnConnection],
      },
      async (u) => {
        const qs = [1, 2, 3, 4, 5, 6].map((id) => buildQuery('v.test', 'TXT', { id }));
        const a = (await tcpQuery(u.port, qs, { allowEarlyClose: true })).map(parseAnswer);
        assert.deepEqual(
          a.map((x) => x.id),
          [4242, 2, 3, 4, 4, 5],
        );
        assert.equal(a[1]?.question?.name, 'evil.test');
        assert.equal(a[2]?.rcode, 'NXDOMAIN');
        assert.ok(a[5]!.raw.length > 3000);
        assert.equal(u.queries[5]?.ignored, true);
      },
    ));

  void it('stallHandshake accepts TCP but never completes TLS and receives 0 application bytes', () =>
    withUpstream({ stallHandshake: true }, async (u) => {
      const r = await Promise.race([handshake(u.port, trustCa), sleep(300).then(() => 'stalled')]);
      assert.equal(r, 'stalled');
      assert.deepEqual([u.connections, u.handshakes, u.bytesReceived], [1, 0, 0]);
    }));

  void it('connection faults: rst on connect, FIN on close action, per-connection stall', () =>
    withUpstream(
      {
        connectionFault: (i) => (i === 0 ? 'rst' : i === 2 ? 'stall' : undefined),
        onQuery: () => ({ close: true }),
      },
      async (u) => {
        const reset = await handshake(u.port, trustCa);
        assert.equal(reset.code, 'ECONNRESET');
        const closed = await tcpQuery(u.port, [buildQuery('c.test', 'A')], {
          tls: trustCa,
          allowEarlyClose: true,
        });
        assert.deepEqual(closed, []);
        assert.equal(u.connectionLog[1]?.queries, 1);
        const stalled = await Promise.race([handshake(u.port, trustCa), sleep(200).then(() => 'stalled')]);
        assert.equal(stalled, 'stalled');
        assert.equal(u.connections, 3);
      },
    ));

  void it('drop never answers; delayMs reorders answers on one connection', () =>
    withUpstream(
      {
        tls: false,
        onQuery: (q) => (q.id === 1 ? { delayMs: 100 } : q.id === 2 ? { drop: true } : undefined),
      },
      async (u) => {
        const qs = [1, 2, 3].map((id) => buildQuery('d.test', 'A', { id }));
        const ids = (await tcpQuery(u.port, qs, { expect: 2 })).map((a) => a.readUInt16BE(0));
        assert.deepEqual(ids, [3, 1]);
        assert.equal(u.queries.length, 3);
      },
    ));

  void it('listens on ::1 and the leaf verifies by IP SAN', async (t) => {
    const u = await startFakeUpstream({ host: '::1' }).catch(() => undefined);
    if (!u) {
      t.skip('no IPv6 loopback');
      return;
    }
    try {
      const [a] = await tcpQuery(u.port, [buildQuery('v6.test', 'AAAA')], {
        address: '::1',
        tls: { ca: pki.ca.cert },
      });
      assert.deepEqual(parseAnswer(a!).answerData, ['2001:db8::1']);
    } finally {
      await u.close();
    }
  });

  void it('answers the same default in direct use of buildAnswer (NODATA for MX)', () => {
    const a = parseAnswer(buildAnswer(buildQuery('m.test', 'MX', { id: 5, rd: false })));
    assert.deepEqual(
      [a.id, a.rd, a.ra, a.rcode, a.answers?.length, a.additionals?.length],
      [5, false, true, 'NOERROR', 0, 0],
    );
  });
});

void describe('fake plain', () => {
  let plain: Awaited<ReturnType<typeof startFakePlain>>;
  before(async () => {
    plain = await startFakePlain();
  });
  after(() => plain.close());

  void it('counts UDP packets and TCP queries on one port', async () => {
    const u = parseAnswer(await udpQuery(plain.port, buildQuery('u.test', 'A', { id: 1 })));
    assert.deepEqual(u.answerData, ['192.0.2.1']);
    const big = parseAnswer(await udpQuery(plain.port, buildQuery('big.test', 'TXT', { id: 2 })));
    assert.equal(big.tc, false);
    await tcpQuery(plain.port, [buildQuery('t.test', 'A'), buildQuery('t.test', 'AAAA')]);
    assert.deepEqual([plain.udpPackets, plain.tcpConnections, plain.tcpQueries], [2, 1, 2]);
  });

  void it('truncateUdp answers TC=1 with no records', async () => {
    const tc = await startFakePlain({ truncateUdp: true });
    try {
      const a = parseAnswer(await udpQuery(tc.port, buildQuery('tc.test', 'A')));
      assert.deepEqual([a.tc, a.answers?.length], [true, 0]);
      const [t] = await tcpQuery(tc.port, [buildQuery('tc.test', 'A')]);
      assert.equal(parseAnswer(t!).answers?.length, 1);
    } finally {
      await tc.close();
    }
  });
});
