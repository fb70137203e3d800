import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { nameMismatch } from '../../src/upstream/cert-name.js';
import { bracketed, isIpLiteral, isV6Address } from '../../src/util/ip-literal.js';
import { certForNames, getTestPki } from '../helpers/test-certs.js';

const der = (pem: string): Buffer => new X509Certificate(pem).raw;

describe('nameMismatch (OpenSSL host and IP checks, as getdns makes them)', () => {
  const leaf = der(getTestPki().leaf.cert); // dot.test, 127.0.0.1, ::1

  it('accepts the name and IP addresses a certificate is for, in any case, with or without the final dot', () => {
    for (const name of ['dot.test', 'DOT.Test', 'dot.test.', '127.0.0.1', '::1', '0:0:0:0:0:0:0:1']) {
      assert.equal(nameMismatch(name, leaf), undefined, name);
    }
  });

  it('refuses any other name or address, and says what the certificate is for', () => {
    for (const name of ['other.test', 'a.dot.test', 'test', '127.0.0.2', '::2']) {
      const why = nameMismatch(name, leaf);
      assert.ok(why !== undefined, name);
      assert.match(why, /^it is for DNS:dot\.test, IP Address:127\.0\.0\.1/);
    }
  });

  it('lets a wildcard stand for one whole leftmost label only', () => {
    const wild = der(certForNames(['*.dns.test']));
    assert.equal(nameMismatch('a.dns.test', wild), undefined);
    assert.ok(nameMismatch('dns.test', wild));
    assert.ok(nameMismatch('a.b.dns.test', wild));
    const partial = der(certForNames(['dot*.dns.test']));
    assert.ok(nameMismatch('dot1.dns.test', partial), 'partial wildcards are refused, as getdns does');
  });

  it('falls back to the subject CN only when there is no DNS name in the certificate', () => {
    const cnOnly = der(certForNames([], 'cn.test'));
    assert.equal(nameMismatch('cn.test', cnOnly), undefined);
    assert.match(
      nameMismatch('other.test', cnOnly) ?? '',
      /no subjectAltName and its subject is CN=cn\.test/,
    );
    const withSan = der(certForNames(['san.test'], 'cn.test'));
    assert.ok(nameMismatch('cn.test', withSan), 'a DNS name in the certificate hides the CN');
  });
});

describe('IP literal tests', () => {
  it('tells host names from IP literals', () => {
    for (const s of ['1.2.3.4', '::1', 'fe80::1%eth0', '2001:db8::1']) assert.equal(isIpLiteral(s), true, s);
    for (const s of ['dot.test', 'dns.quad9.net', '1.2.3.4.example', 'localhost'])
      assert.equal(isIpLiteral(s), false, s);
  });

  it('gives an IP address its family', () => {
    assert.equal(isV6Address('::1'), true);
    assert.equal(isV6Address('2001:db8::53'), true);
    assert.equal(isV6Address('127.0.0.1'), false);
  });

  it('brackets an IPv6 address for a host:port, and only that', () => {
    assert.equal(bracketed('::1'), '[::1]');
    assert.equal(bracketed('2001:db8::53'), '[2001:db8::53]');
    assert.equal(bracketed('127.0.0.1'), '127.0.0.1');
  });
});
