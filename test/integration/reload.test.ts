// Reload in place: no query lost while upstreams are swapped under load; unchanged upstreams keep their
// connections; listeners come and go; a reload that fails changes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError, ListenError } from '../../src/errors.js';
import type { ReloadOptions } from '../../src/server/reload.js';
import { buildQuery, parseAnswer, udpQuery, tcpQuery, waitFor } from '../helpers/dns-messages.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { spec, stackDefaults, startStack, type Stack } from '../helpers/stack.js';

describe('reload', () => {
  let a: FakeUpstream;
  let b: FakeUpstream;
  let stack: Stack;
  let base: ReloadOptions;
  before(async () => {
    // Every answer of A takes 150 ms, so a burst is still in flight when the reload swaps A out.
    a = await startFakeUpstream({ onQuery: () => ({ delayMs: 150 }) });
    b = await startFakeUpstream();
    base = {
      ...stackDefaults(),
      upstreams: [spec(a.port)],
    };
    stack = await startStack(base);
  });
  after(async () => {
    await stack.close();
    await a.close();
    await b.close();
  });

  it('keeps an unchanged upstream: the same object, the same connection', async () => {
    await udpQuery(stack.port, buildQuery('warm.example', 'A'));
    const before = stack.daemon.upstreams[0];
    const opened = a.connections;
    const summary = await stack.daemon.reload({ ...base, upstreams: [spec(a.port), spec(b.port)] });
    assert.deepEqual(summary.upstreams, { kept: 1, added: 1, removed: 0 });
    assert.deepEqual(summary.listen, { kept: 1, added: 0, removed: 0 });
    assert.equal(stack.daemon.upstreams[0], before);
    assert.equal(stack.daemon.upstreams.length, 2);
    assert.equal(parseAnswer(await udpQuery(stack.port, buildQuery('again.example', 'A'))).rcode, 'NOERROR');
    assert.equal(a.connections, opened, 'no new connection to the kept upstream');
  });

  it('loses no query while a reload swaps the upstreams under load', async () => {
    await stack.daemon.reload(base);
    const before = b.queries.length;
    const n = 200;
    const pending = Array.from({ length: n }, (_, i) =>
      i % 2 === 0
        ? udpQuery(stack.port, buildQuery(`q${i}.example`, 'A'), { timeoutMs: 4000 })
        : tcpQuery(stack.port, [buildQuery(`q${i}.example`, 'A')]).then((r) => r[0]!),
    );
    await waitFor(() => stack.daemon.resolver.outstanding >= 20, 3000, 'queries in flight');
    const summary = await stack.daemon.reload({ ...base, upstreams: [spec(b.port)] });
    assert.deepEqual(summary.upstreams, { kept: 0, added: 1, removed: 1 });
    const answers = await Promise.all(pending);
    assert.equal(answers.length, n);
    for (const answer of answers) assert.equal(parseAnswer(answer).rcode, 'NOERROR');
    // The removed upstream closes its connections once its queries are answered; new queries go to B.
    await waitFor(() => a.openConnections === 0, 3000, 'A closed');
    await udpQuery(stack.port, buildQuery('after.example', 'A'));
    assert.ok(b.queries.length > before);
  });

  it('opens a new listen address and closes a removed one', async () => {
    const summary = await stack.daemon.reload({
      ...base,
      upstreams: [spec(b.port)],
      listen: [...base.listen, { host: '127.0.0.2', port: 0 }],
    });
    assert.deepEqual(summary.listen, { kept: 1, added: 1, removed: 0 });
    const second = stack.daemon.addresses[1]!;
    assert.equal(second.host, '127.0.0.2');
    const answer = await udpQuery(second.port, buildQuery('two.example', 'A'), { address: '127.0.0.2' });
    assert.equal(parseAnswer(answer).rcode, 'NOERROR');
    await stack.daemon.reload({ ...base, upstreams: [spec(b.port)] });
    assert.deepEqual(
      stack.daemon.addresses.map((x) => x.host),
      ['127.0.0.1'],
    );
    await assert.rejects(
      udpQuery(second.port, buildQuery('gone.example', 'A'), { address: '127.0.0.2', timeoutMs: 300 }),
    );
  });

  it('a reload that fails changes nothing', async () => {
    const upstream = stack.daemon.upstreams[0];
    await assert.rejects(
      stack.daemon.reload({ ...base, upstreams: [spec(a.port)], caFile: '/nonexistent/ca.pem' }),
      ConfigError,
    );
    await assert.rejects(
      stack.daemon.reload({
        ...base,
        upstreams: [spec(a.port)],
        listen: [...base.listen, { host: '192.0.2.1', port: 0 }],
      }),
      ListenError,
    );
    assert.equal(stack.daemon.upstreams[0], upstream);
    assert.equal(stack.daemon.addresses.length, 1);
    assert.equal(parseAnswer(await udpQuery(stack.port, buildQuery('still.example', 'A'))).rcode, 'NOERROR');
  });
});
