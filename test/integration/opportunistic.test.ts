import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { UpstreamSpec } from '../../src/upstream/upstream.js';
import { buildQuery, parseAnswer, sleep, udpQuery } from '../helpers/dns-messages.js';
import { startFakePlain, type FakePlain } from '../helpers/fake-plain.js';
import { startFakeUpstream, type FakeUpstream, type FakeUpstreamOptions } from '../helpers/fake-upstream.js';
import { startStack, type StackOptions } from '../helpers/stack.js';
import { getTestPki } from '../helpers/test-certs.js';

const pki = getTestPki();

/** A TLS "server" for the failures our fake cannot script: a closed port, or garbage instead of a handshake. */
async function rawServer(kind: 'closed' | 'garbage'): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.end(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\nthis is not TLS'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const close = (): Promise<void> =>
    new Promise((r) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => {
        r();
      });
    });
  if (kind === 'closed') await close();
  return { port, close: kind === 'closed' ? () => Promise.resolve() : close };
}

const opportunistic = (port: number, clearPort: number, authName = 'dot.test'): UpstreamSpec => ({
  address: '127.0.0.1',
  port,
  authName,
  pins: [],
  profile: 'opportunistic',
  clearPort,
});
const strict = (port: number, clearPort: number): UpstreamSpec => ({
  ...opportunistic(port, clearPort),
  profile: 'strict',
});

interface Failure {
  readonly name: string;
  start(): Promise<{ port: number; tls?: FakeUpstream; close(): Promise<void> }>;
}

const fake = (opts: FakeUpstreamOptions) => async () => {
  const tls = await startFakeUpstream(opts);
  return { port: tls.port, tls, close: () => tls.close() };
};

/** TLS cannot be set up at all: Opportunistic goes to clear port 53, Strict answers SERVFAIL. */
const SETUP_FAILURES: Failure[] = [
  { name: 'connection refused', start: () => rawServer('closed') },
  { name: 'TCP reset', start: fake({ rstOnConnect: true }) },
  { name: 'handshake garbage', start: () => rawServer('garbage') },
  { name: 'handshake stall', start: fake({ stallHandshake: true }) },
  { name: 'TLS 1.1-only server', start: fake({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1' }) },
];

async function ask(
  stackOptions: StackOptions,
  name: string,
): Promise<{ rcode: string | undefined; log: string }> {
  const stack = await startStack({ connectTimeoutMs: 500, ...stackOptions });
  try {
    const answer = parseAnswer(await udpQuery(stack.port, buildQuery(name, 'A'), { timeoutMs: 4000 }));
    return { rcode: answer.rcode, log: stack.log.join('\n') };
  } finally {
    await stack.close();
  }
}

describe('usage profiles when TLS fails (RFC 8310 sec. 5)', () => {
  let plain: FakePlain;
  before(async () => {
    plain = await startFakePlain();
  });
  after(async () => {
    await plain.close();
  });

  for (const failure of SETUP_FAILURES) {
    it(`${failure.name}: Opportunistic answers over clear port 53 and says so; Strict answers SERVFAIL, nothing in clear`, async () => {
      const server = await failure.start();
      try {
        const before = plain.udpPackets + plain.tcpQueries;
        const opp = await ask({ upstreams: [opportunistic(server.port, plain.port)] }, 'opp.example');
        assert.equal(opp.rcode, 'NOERROR');
        assert.equal(plain.udpPackets + plain.tcpQueries - before, 1, 'one clear query to port 53');
        assert.match(
          opp.log,
          /level=warn msg="TLS could not be set up: answering in CLEAR TEXT, NOT PRIVATE/,
        );
        const mid = plain.udpPackets + plain.tcpQueries;
        const str = await ask({ upstreams: [strict(server.port, plain.port)] }, 'strict.example');
        assert.equal(str.rcode, 'SERVFAIL');
        assert.equal(plain.udpPackets + plain.tcpQueries, mid, 'Strict sent nothing in clear');
        assert.equal(server.tls?.queries.length ?? 0, 0, 'nothing reached the TLS port in clear either');
      } finally {
        await server.close();
      }
    });
  }

  it('a wrong certificate: Opportunistic uses TLS unauthenticated (never clear); Strict refuses', async () => {
    const tls = await startFakeUpstream({ cert: pki.selfSigned.cert, key: pki.selfSigned.key });
    try {
      const before = plain.udpPackets + plain.tcpQueries;
      const opp = await ask({ upstreams: [opportunistic(tls.port, plain.port)] }, 'unauth.example');
      assert.equal(opp.rcode, 'NOERROR');
      assert.equal(tls.queries.length, 1, 'answered over TLS');
      assert.equal(plain.udpPackets + plain.tcpQueries, before, 'not in clear');
      assert.match(opp.log, /WITHOUT authentication/);
      const str = await ask({ upstreams: [strict(tls.port, plain.port)] }, 'strict.example');
      assert.equal(str.rcode, 'SERVFAIL');
      assert.equal(tls.queries.length, 1);
    } finally {
      await tls.close();
    }
  });

  it('an Opportunistic upstream without name or pins is accepted and encrypts', async () => {
    const tls = await startFakeUpstream({});
    try {
      const opp = await ask(
        {
          upstreams: [
            {
              address: '127.0.0.1',
              port: tls.port,
              pins: [],
              profile: 'opportunistic',
              clearPort: plain.port,
            },
          ],
        },
        'noname.example',
      );
      assert.equal(opp.rcode, 'NOERROR');
      assert.equal(tls.queries.length, 1);
    } finally {
      await tls.close();
    }
  });

  it('prefers an authenticated upstream to one that is only encrypted', async () => {
    const unauth = await startFakeUpstream({ cert: pki.selfSigned.cert, key: pki.selfSigned.key });
    const good = await startFakeUpstream({});
    const stack = await startStack({
      selection: 'round-robin',
      upstreams: [opportunistic(unauth.port, plain.port), opportunistic(good.port, plain.port)],
    });
    try {
      for (let i = 0; i < 6; i++)
        assert.equal(
          parseAnswer(await udpQuery(stack.port, buildQuery(`pref${i}.example`, 'A'))).rcode,
          'NOERROR',
        );
      // The first query may land on the unauthenticated one before its state is known; after that, never.
      assert.ok(unauth.queries.length <= 1, `unauthenticated upstream got ${unauth.queries.length}`);
      assert.ok(good.queries.length >= 5);
    } finally {
      await stack.close();
      await unauth.close();
      await good.close();
    }
  });

  it('goes back to TLS as soon as it works again, without a restart', async () => {
    let broken = true;
    const tls = await startFakeUpstream({ connectionFault: () => (broken ? 'rst' : undefined) });
    const stack = await startStack({ upstreams: [opportunistic(tls.port, plain.port)] });
    try {
      const clearBefore = plain.udpPackets;
      assert.equal(parseAnswer(await udpQuery(stack.port, buildQuery('c1.example', 'A'))).rcode, 'NOERROR');
      assert.equal(plain.udpPackets - clearBefore, 1);
      broken = false;
      await sleep(1400); // the first re-probe is due after about 1 s (backoff with 20 % jitter)
      assert.equal(parseAnswer(await udpQuery(stack.port, buildQuery('c2.example', 'A'))).rcode, 'NOERROR'); // starts the probe
      await sleep(300);
      assert.equal(parseAnswer(await udpQuery(stack.port, buildQuery('c3.example', 'A'))).rcode, 'NOERROR');
      assert.deepEqual(
        tls.queries.map((q) => q.name),
        ['c3.example'],
        'back on TLS',
      );
      assert.match(stack.log.join('\n'), /TLS works again/);
    } finally {
      await stack.close();
      await tls.close();
    }
  });

  it('uses the configured fallback server only when the upstream port 53 is down too', async () => {
    const deadTls = await rawServer('closed');
    const deadClear = await rawServer('closed');
    const fallbackServer = await startFakePlain();
    try {
      const opp = await ask(
        {
          upstreams: [opportunistic(deadTls.port, deadClear.port)],
          fallback: [{ address: '127.0.0.1', port: fallbackServer.port, pins: [] }],
        },
        'fallback.example',
      );
      assert.equal(opp.rcode, 'NOERROR');
      assert.equal(fallbackServer.udpPackets, 1);
    } finally {
      await fallbackServer.close();
    }
  });
});
