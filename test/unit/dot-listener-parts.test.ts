import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listenTlsSpecs, tlsSettings } from '../../src/config/tls-config.js';
import { addServerHopOptions, clientHopOptions } from '../../src/dns/server-options.js';
import { parseMessage } from '../../src/dns/wire.js';
import { parseAllowList } from '../../src/server/allow-list.js';
import { loadOrCreateSelfSigned } from '../../src/server/self-signed-cert.js';
import { deriveTicketKey, TicketKeyRotator } from '../../src/server/ticket-keys.js';
import { spkiPin } from '../../src/upstream/spki-pin.js';
import type { Clock } from '../../src/util/clock.js';
import { buildAnswer } from '../helpers/dns-answer.js';
import { buildQuery, parseAnswer } from '../helpers/dns-messages.js';

const DAY = 24 * 3600_000;

describe('answer padding and keepalive (RFC 8467, RFC 7828)', () => {
  it('pads answers of many sizes to a multiple of 468 and keeps every other byte', () => {
    for (const bytes of [0, 100, 400, 460, 470, 1000, 3000]) {
      const query = buildQuery('p.example', 'TXT', {
        udpSize: 1232,
        ednsOptions: [{ code: 10, data: Buffer.alloc(8, 7) }],
      });
      const answer = buildAnswer(query, bytes === 0 ? {} : { bigTxtBytes: bytes, echoEdnsOptions: true });
      const msg = parseMessage(answer);
      const out = addServerHopOptions(answer, msg, { padBlock: 468 });
      assert.equal(out.length % 468, 0, `${bytes}: ${out.length}`);
      assert.deepEqual(out.subarray(0, msg.opt!.start).subarray(12), answer.subarray(12, msg.opt!.start));
      const parsed = parseAnswer(out);
      assert.ok(parsed.paddingLength !== undefined);
      if (bytes > 0)
        assert.deepEqual(parsed.edns?.options.find((o) => o.code === 10)?.data, Buffer.alloc(8, 7));
    }
  });

  it('adds the keepalive value in units of 100 ms and an OPT when the answer had none', () => {
    const query = buildQuery('k.example', 'A', { edns: false });
    const answer = buildAnswer(query);
    const out = addServerHopOptions(answer, parseMessage(answer), { keepaliveMs: 12_345, padBlock: 0 });
    assert.equal(parseAnswer(out).keepalive, 123);
    assert.equal(out.readUInt16BE(10), 1, 'ARCOUNT counts the new OPT');
    assert.equal(
      addServerHopOptions(answer, parseMessage(answer), { padBlock: 0 }),
      answer,
      'nothing to add',
    );
  });

  it('reads which options the client sent', () => {
    const q = buildQuery('a.example', 'A', { pad: 128, ednsOptions: [{ code: 11, data: Buffer.alloc(0) }] });
    assert.deepEqual(clientHopOptions(parseMessage(q)), { keepalive: true, padding: true });
    assert.deepEqual(clientHopOptions(parseMessage(buildQuery('a.example', 'A'))), {
      keepalive: false,
      padding: false,
    });
  });
});

describe('allow-list', () => {
  it('matches networks of both families, IPv4-mapped clients, and nothing else', () => {
    const list = parseAllowList(['192.168.1.0/24', 'fd00::/8', '10.0.0.7']);
    assert.equal(list.allows('192.168.1.200'), true);
    assert.equal(list.allows('::ffff:192.168.1.3'), true);
    assert.equal(list.allows('192.168.2.1'), false);
    assert.equal(list.allows('fd12::1'), true);
    assert.equal(list.allows('10.0.0.7'), true);
    assert.equal(list.allows('10.0.0.8'), false);
    assert.equal(list.allows('127.0.0.1'), false);
    assert.equal(list.allows(undefined), false);
  });

  it('names the bad entry and the accepted form', () => {
    assert.throws(() => parseAllowList(['10.0.0.0/8', '10.0.0.0/33']), {
      code: 'ERR_DOTSTUB_CONFIG',
      message: /^tls\.allow\[1\]: "10\.0\.0\.0\/33" is not a network \(expected ADDR\/PREFIX/,
    });
    assert.throws(() => parseAllowList(['home']), { message: /tls\.allow\[0\]/ });
  });
});

describe('generated listener certificate', () => {
  it('is made once with owner-only permissions, reused, and renewed within 30 days of expiry', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'dotstub-self-')), 'tls');
    let now = new Date('2030-01-01T00:00:00Z');
    const load = () => loadOrCreateSelfSigned({ dir, ips: ['192.0.2.5', '0.0.0.0'], now: () => now });
    const first = await load();
    assert.equal(first.created, true);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.equal(statSync(join(dir, 'listener-key.pem')).mode & 0o777, 0o600);
    const x509 = new X509Certificate(first.cert);
    assert.equal(x509.publicKey.asymmetricKeyType, 'ec');
    assert.equal(x509.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(x509.verify(x509.publicKey), 'self-signed');
    assert.match(x509.subjectAltName ?? '', /DNS:localhost/);
    assert.match(x509.subjectAltName ?? '', /IP Address:192\.0\.2\.5/);
    assert.doesNotMatch(x509.subjectAltName ?? '', /0\.0\.0\.0/);
    assert.equal(new Date(x509.validTo).getTime() - now.getTime(), 365 * DAY);

    now = new Date(now.getTime() + 300 * DAY);
    const second = await load();
    assert.equal(second.created, false);
    assert.equal(spkiPin(new X509Certificate(second.cert)), spkiPin(x509), 'same key, same pin');

    now = new Date(now.getTime() + 40 * DAY); // 25 days left
    const renewed = await load();
    assert.equal(renewed.created, true);
    assert.notEqual(spkiPin(new X509Certificate(renewed.cert)), spkiPin(x509));
    assert.equal(readFileSync(join(dir, 'listener-cert.pem'), 'utf8'), renewed.cert);
  });

  it('replaces a corrupt pair', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dotstub-self-'));
    writeFileSync(join(dir, 'listener-cert.pem'), 'garbage');
    writeFileSync(join(dir, 'listener-key.pem'), 'garbage');
    assert.equal((await loadOrCreateSelfSigned({ dir, ips: [] })).created, true);
  });
});

describe('session ticket keys', () => {
  const secret = Buffer.alloc(32, 9);

  it('derives 48 bytes per epoch, the same for the same secret and epoch', () => {
    assert.equal(deriveTicketKey(secret, 5).length, 48);
    assert.deepEqual(deriveTicketKey(secret, 5), deriveTicketKey(Buffer.from(secret), 5));
    assert.notDeepEqual(deriveTicketKey(secret, 5), deriveTicketKey(secret, 6));
    assert.notDeepEqual(deriveTicketKey(secret, 5), deriveTicketKey(Buffer.alloc(32, 8), 5));
  });

  it('applies the next key at the epoch boundary on a manual clock', () => {
    let wall = 10 * 1000 + 400;
    let fire: (() => void) | undefined;
    let waited = 0;
    const clock: Clock = {
      now: () => wall,
      setTimeout: (fn, ms) => {
        fire = fn;
        waited = ms;
        return { clear: () => undefined, refresh: (next) => (waited = next) };
      },
    };
    const applied: Buffer[] = [];
    const rotator = new TicketKeyRotator({ secret, rotationMs: 1000, wallNow: () => wall, clock }, (k) =>
      applied.push(k),
    );
    assert.deepEqual(applied, [deriveTicketKey(secret, 10)]);
    assert.equal(waited, 650, 'wakes just after the boundary');
    wall += 650;
    fire?.();
    assert.deepEqual(applied.at(-1), deriveTicketKey(secret, 11));
    assert.equal(rotator.rotations, 1);
  });
});

describe('DoT listener configuration', () => {
  it('is off without listen addresses and fills in defaults with them', () => {
    assert.deepEqual(listenTlsSpecs(undefined, {}), []);
    assert.equal(tlsSettings({ tls: { padding: 'off' } }, []), undefined);
    const specs = listenTlsSpecs(['192.168.1.2', '[::1]:8853'], {});
    assert.deepEqual(specs, [
      { host: '192.168.1.2', port: 853 },
      { host: '::1', port: 8853 },
    ]);
    const s = tlsSettings({}, specs)!;
    assert.equal(s.padding, 468);
    assert.deepEqual(s.allow, ['127.0.0.0/8', '::1/128']);
    assert.equal(s.ticketRotationMs, 3600_000);
  });

  it('takes padding on, off or a block size, and names bad keys', () => {
    const specs = [{ host: '127.0.0.1', port: 853 }];
    assert.equal(tlsSettings({ tls: { padding: 'on' } }, specs)?.padding, 468);
    assert.equal(tlsSettings({ tls: { padding: false } }, specs)?.padding, 0);
    assert.equal(tlsSettings({ tls: { padding: 128 } }, specs)?.padding, 128);
    assert.throws(() => tlsSettings({ tls: { padding: 'big' } }, specs), {
      message: /^tls\.padding: "big" is not "on", "off" or a block size/,
    });
    assert.throws(() => tlsSettings({ tls: { certs: [{ cert: 'a.pem' }] } }, specs), {
      message: /^tls\.certs\[0\]: expected/,
    });
    assert.throws(() => tlsSettings({ tls: { allow: ['x/1'] } }, specs), { message: /^tls\.allow\[0\]/ });
    assert.throws(() => tlsSettings({ tls: { maxConnections: 0 } }, specs), {
      message: /^tls\.maxConnections: 0 is not/,
    });
    assert.throws(() => listenTlsSpecs(['dns.example'], {}), {
      message: /^--listen-tls\[0\]: "dns\.example" is not an IP/,
    });
  });
});
