import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/errors.js';
import { parsePin } from '../../src/upstream/spki-pin.js';

const PIN = 'Ta6rR2Bzr+shUW6ttvlWNNN9Lam0/D8tFF8tmlRH4U8=';

describe('parsePin', () => {
  const good = [`pin-sha256="${PIN}"`, `PIN-SHA256 = "${PIN}"`, `  pin-sha256="${PIN}"  `, PIN];
  for (const input of good) {
    it(`accepts ${input}`, () => {
      assert.equal(parsePin(input), PIN);
    });
  }

  it('rejects a value that is not 32 bytes, naming the key and the expected form', () => {
    assert.throws(
      () => parsePin('pin-sha256="AAAA"', 'upstreams[1].pins[0]'),
      (err: unknown) =>
        err instanceof ConfigError &&
        err.message.startsWith('upstreams[1].pins[0]: not a pin-sha256 value') &&
        err.message.includes('expected pin-sha256="<44 base64 chars>"'),
    );
  });

  it('rejects an unknown hash algorithm by name', () => {
    assert.throws(() => parsePin(`pin-sha1="${PIN}"`), /unsupported pin algorithm/);
  });

  it('rejects non-canonical base64', () => {
    assert.throws(() => parsePin(PIN.replace('=', '')), ConfigError);
    assert.throws(() => parsePin(`pin-sha256="${PIN}`), ConfigError);
  });
});
