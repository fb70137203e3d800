// Which upstreams get a CA store: only those whose authentication name is checked against the CAs.
// Node 20 parses its ~140 bundled roots for the first context with a store, so the others go without.
import assert from 'node:assert/strict';
import { connect } from 'node:tls';
import { after, describe, it } from 'node:test';
import { needsCaStore } from '../../src/upstream/tls-authenticate.js';
import { buildSecureContext } from '../../src/upstream/tls-upstream.js';
import type { UpstreamSpec } from '../../src/upstream/upstream.js';
import { startFakeUpstream } from '../helpers/fake-upstream.js';
import { getTestPki } from '../helpers/test-certs.js';

const pki = getTestPki();
const base: UpstreamSpec = { address: '127.0.0.1', port: 853, pins: [] };

/** Node's verdict on the fake upstream's chain (issued by the test CA for dot.test) under `caStore`. */
async function verdict(port: number, caStore: boolean): Promise<boolean> {
  const secureContext = buildSecureContext([pki.ca.cert], 'TLSv1.2', caStore);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: 'dot.test',
      secureContext,
      rejectUnauthorized: false,
    });
    socket.once('secureConnect', () => {
      resolve(socket.authorized);
      socket.destroy();
    });
    socket.once('error', reject);
  });
}

describe('CA store', () => {
  it('is needed only when a name is checked against the CAs', () => {
    assert.equal(needsCaStore({ ...base, authName: 'dot.test' }), true, 'name only');
    assert.equal(needsCaStore({ ...base, authName: 'dot.test', pins: ['x'] }), true, 'pin and name: both');
    assert.equal(needsCaStore({ ...base, pins: ['x'] }), false, 'pins only');
    assert.equal(
      needsCaStore({ ...base, authName: 'dot.test', pins: ['x'], pinIsTrustAnchor: true }),
      false,
      'the pin stands in for the CA',
    );
    assert.equal(
      needsCaStore({ ...base, authName: 'dot.test', pinIsTrustAnchor: true }),
      true,
      'no pin to stand in: the CA decides',
    );
    assert.equal(needsCaStore(base), false, 'nothing to check (Opportunistic)');
  });

  const upstream = startFakeUpstream();
  after(async () => {
    await (await upstream).close();
  });

  it('trusts the extra CA with a store, and nothing without one', async () => {
    const { port } = await upstream;
    assert.equal(await verdict(port, true), true, 'the chain leads to the extra CA');
    assert.equal(await verdict(port, false), false, 'an empty store trusts no chain');
  });
});
