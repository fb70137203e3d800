// The cache starts afresh when its answers may no longer hold: after a network change (a wake, a new
// network, split horizons) and after a reload that changes the upstreams (issue 9).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_CACHE_CONFIG } from '../../src/cache/cache-options.js';
import type { DaemonOptions } from '../../src/server/daemon.js';
import { buildQuery, parseAnswer, udpQuery } from '../helpers/dns-messages.js';
import { startFakeUpstream, type FakeUpstream } from '../helpers/fake-upstream.js';
import { spec, stackDefaults, startStack, type Stack } from '../helpers/stack.js';

describe('cache emptied on network and upstream changes', () => {
  let a: FakeUpstream;
  let b: FakeUpstream;
  let stack: Stack;
  let base: Omit<DaemonOptions, 'logger'>;
  const seen = (up: FakeUpstream, name: string): number => up.queries.filter((q) => q.name === name).length;
  const ask = async (name: string): Promise<string | undefined> =>
    parseAnswer(await udpQuery(stack.port, buildQuery(name, 'A'), { timeoutMs: 4000 })).rcode;

  before(async () => {
    a = await startFakeUpstream();
    b = await startFakeUpstream();
    base = {
      ...stackDefaults(),
      upstreams: [spec(a.port)],
      cache: DEFAULT_CACHE_CONFIG,
    };
    stack = await startStack(base);
  });
  after(async () => {
    await stack.close();
    await a.close();
    await b.close();
  });

  it('asks the upstream again after a network change', async () => {
    assert.equal(await ask('net.example'), 'NOERROR');
    assert.equal(await ask('net.example'), 'NOERROR');
    assert.equal(seen(a, 'net.example'), 1, 'the second answer came from the cache');
    await stack.daemon.desktop.networkChanged('manual');
    assert.equal(await ask('net.example'), 'NOERROR');
    assert.equal(seen(a, 'net.example'), 2, 'after the change the upstream was asked again');
  });

  it('asks the new upstream after a reload that changes the upstreams, and keeps the cache otherwise', async () => {
    assert.equal(await ask('reload.example'), 'NOERROR');
    await stack.daemon.reload({ ...base });
    assert.equal(await ask('reload.example'), 'NOERROR');
    assert.equal(seen(a, 'reload.example'), 1, 'a reload with the same upstreams keeps the answers');
    await stack.daemon.reload({ ...base, upstreams: [spec(b.port)] });
    assert.equal(await ask('reload.example'), 'NOERROR');
    assert.equal(seen(b, 'reload.example'), 1, 'the new upstream was asked: the old answers were dropped');
  });
});
