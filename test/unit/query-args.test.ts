// `dotstub query` argument parsing: getdns_query's flags accepted with their meaning, and every rejection
// with its exact message.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseQueryArgs, QueryUsageError, type QueryArgs } from '../../src/cli/query-args.js';

const PIN = Buffer.alloc(32, 1).toString('base64');
const PIN2 = Buffer.alloc(32, 2).toString('base64');

interface Accepted {
  args: string[];
  expect: Partial<QueryArgs>;
}

const accepted: Accepted[] = [
  {
    args: ['-s', '-l', 'L', '-K', `pin-sha256="${PIN}"`, '@127.0.0.1#8853~dot.test', 'example.org', 'A'],
    expect: {
      transports: ['L'],
      pins: [PIN],
      upstreams: [{ address: '127.0.0.1', port: 8853, authName: 'dot.test' }],
      questions: [{ name: 'example.org', type: 1, qclass: 1 }],
      output: 'text',
    },
  },
  {
    // bundled flags, a value glued to its flag, -K repeated
    args: ['-slLU', `-Kpin-sha256="${PIN}"`, '-K', PIN2, '@192.0.2.1', 'x.test', 'aaaa'],
    expect: {
      transports: ['L', 'U'],
      pins: [PIN, PIN2],
      questions: [{ name: 'x.test', type: 28, qclass: 1 }],
    },
  },
  {
    args: ['@192.0.2.1@5353#853~n.test', 'x.test', 'HTTPS'],
    expect: {
      upstreams: [{ address: '192.0.2.1', port: 853, authName: 'n.test', clearPort: 5353 }],
      questions: [{ name: 'x.test', type: 65, qclass: 1 }],
    },
  },
  {
    // getdns_query: IP:PORT and [V6]:PORT are the clear port
    args: ['@192.0.2.1:5353', '@[2001:db8::1]:54', 'x.test', 'SVCB'],
    expect: {
      upstreams: [
        { address: '192.0.2.1', port: 853, clearPort: 5353 },
        { address: '2001:db8::1', port: 853, clearPort: 54 },
      ],
      questions: [{ name: 'x.test', type: 64, qclass: 1 }],
    },
  },
  { args: ['x.test', 'TYPE65535'], expect: { questions: [{ name: 'x.test', type: 65535, qclass: 1 }] } },
  {
    args: ['version.bind', 'TXT', 'CH'],
    expect: { questions: [{ name: 'version.bind', type: 16, qclass: 3 }] },
  },
  {
    args: ['+specify_class=CH', 'version.bind', 'TXT', '+return_call_reporting'],
    expect: { callReporting: true, questions: [{ name: 'version.bind', type: 16, qclass: 3 }] },
  },
  {
    // as getdns_query: a NAME without TYPE is an address lookup, and -A ignores TYPE
    args: ['x.test'],
    expect: {
      questions: [
        { name: 'x.test', type: 1, qclass: 1 },
        { name: 'x.test', type: 28, qclass: 1 },
      ],
    },
  },
  {
    args: ['-A', 'x.test', 'MX'],
    expect: {
      questions: [
        { name: 'x.test', type: 1, qclass: 1 },
        { name: 'x.test', type: 28, qclass: 1 },
      ],
    },
  },
  {
    args: ['-H', '192.0.2.1'],
    expect: { questions: [{ name: '1.2.0.192.in-addr.arpa', type: 12, qclass: 1 }] },
  },
  {
    args: ['-H', '2001:db8::1'],
    expect: {
      questions: [
        {
          name: `${'1.0.0.0.'.concat('0.0.0.0.'.repeat(5), '8.b.d.0.1.0.0.2')}.ip6.arpa`,
          type: 12,
          qclass: 1,
        },
      ],
    },
  },
  {
    args: ['-m', '-t', '2500', '-e', '100', '-P', '1', '-b', '4096', '-D', 'x.test', 'A'],
    expect: {
      authentication: 'required',
      timeoutMs: 2500,
      idleTimeoutMs: 100,
      padBlock: 128,
      ednsUdpSize: 4096,
      dnssecOk: true,
    },
  },
  {
    args: ['-n', '-P0', '-b0', '-D', '-d', 'x.test', 'A'],
    expect: { authentication: 'none', padBlock: 0, ednsUdpSize: 0, dnssecOk: false },
  },
  { args: ['-j', 'x.test', 'A'], expect: { output: 'json' } },
  { args: ['-J', 'x.test', 'A'], expect: { output: 'json-pretty' } },
  { args: ['-q', 'x.test', 'A'], expect: { output: 'quiet' } },
  { args: ['-u', '@192.0.2.1', 'x.test', 'A'], expect: { transports: ['U', 'T'] } },
  { args: ['-E', '@192.0.2.1', 'x.test', 'A'], expect: { transports: ['L', 'T'] } },
  { args: ['-L', 'x.test', 'A'], expect: { transports: ['L'] } },
  {
    args: ['--config', '/etc/dotstub.json', '--ca-file=/tmp/ca.pem', 'x.test', 'A'],
    expect: { config: '/etc/dotstub.json', caFile: '/tmp/ca.pem', upstreams: [], transports: undefined },
  },
  { args: ['--help'], expect: { help: true, questions: [] } },
  { args: ['-h'], expect: { help: true } },
];

const rejected: [string[], string][] = [
  [['-w', 'x.test'], 'unknown option -w'],
  [['--verbose', 'x.test'], 'unknown option --verbose'],
  [['-r', 'x.test'], '-r (recursive resolution) is not supported: dotstub query is a stub (-s)'],
  [['-S', 'x.test'], '-S is a getdns_query option that dotstub query does not support'],
  [['-I', 'x.test'], '-I is a getdns_query option that dotstub query does not support'],
  [[], 'missing NAME'],
  [['-j'], 'missing NAME'],
  [['x.test', 'A', 'IN', 'extra'], 'unexpected argument "extra"'],
  [
    ['x.test', 'BOGUS'],
    'unknown type "BOGUS" (expected a mnemonic such as A, AAAA, TXT, HTTPS, SVCB, or TYPEnnn)',
  ],
  [
    ['x.test', 'TYPE65536'],
    'unknown type "TYPE65536" (expected a mnemonic such as A, AAAA, TXT, HTTPS, SVCB, or TYPEnnn)',
  ],
  [['x.test', 'A', 'XX'], 'unknown class "XX" (expected IN, CH, HS or CLASSnnn)'],
  [['+specify_class=CH', 'x.test', 'A', 'CH'], 'give the class once: as CLASS or as +specify_class=CLASS'],
  [
    ['+dnssec', 'x.test'],
    'unknown extension +dnssec (dotstub query supports +return_call_reporting and +specify_class=CLASS)',
  ],
  [['{ "timeout": 1 }', 'x.test'], "JSON settings ('{ ... }') are not supported; use the options"],
  [
    ['-l', 'LX', '@192.0.2.1', 'x.test'],
    '-l takes U, T and L, each at most once, in the order to try them (for example -l LU); got "LX"',
  ],
  [
    ['-l', 'LL', '@192.0.2.1', 'x.test'],
    '-l takes U, T and L, each at most once, in the order to try them (for example -l LU); got "LL"',
  ],
  [['x.test', '-l'], '-l needs a value'],
  [['-t', '0', 'x.test'], '-t takes a timeout in milliseconds from 1 to 600000; got "0"'],
  [['-t', 'soon', 'x.test'], '-t takes a timeout in milliseconds from 1 to 600000; got "soon"'],
  [['-e', '-1', 'x.test'], '-e takes an idle timeout in milliseconds from 0 to 600000; got "-1"'],
  [['-P', '5000', 'x.test'], '-P takes a padding block size (0: none, 1: 128) from 0 to 4096; got "5000"'],
  [['-b', '100', 'x.test'], '-b takes 0 (no EDNS) or 512 to 65535; got "100"'],
  [['-b', '70000', 'x.test'], '-b takes an EDNS buffer size (0: no EDNS) from 0 to 65535; got "70000"'],
  [
    ['-K', 'pin-sha256="short"', '@192.0.2.1', 'x.test'],
    '-K: not a pin-sha256 value: "pin-sha256=\\"short\\"" (expected pin-sha256="<44 base64 chars>", the SHA-256 of the server\'s SPKI; the README shows how to read it from a server)',
  ],
  [
    ['-K', `pin-sha256="${PIN}"`, 'x.test'],
    '-K applies to the @UPSTREAMs given on the command line; give at least one',
  ],
  [
    ['@dns.example', 'x.test'],
    'upstream @dns.example: "dns.example" is not an IP address (expected, for example, 9.9.9.9#853~dns.quad9.net or [2620:fe::fe]:853)',
  ],
  [['-m', '-n', 'x.test'], 'choose one of -m (authentication required) and -n (authentication none)'],
  [
    ['-m', '-l', 'LU', '@192.0.2.1~n.test', 'x.test'],
    '-m (authentication required) needs TLS only, but -l LU includes clear text (U): use -l L, or -n',
  ],
  [
    ['-l', 'U', 'x.test'],
    'clear-text transports (-l with U or T) need an @UPSTREAM: the configured upstreams are only asked as their profile says',
  ],
  [['-H', 'host.example'], '-H (hostname lookup) needs an IP address as NAME; got "host.example"'],
  [['--config'], '--config needs a file name'],
  [['-b', '0', '-D', 'x.test'], '-D (set the DO bit) needs EDNS: drop -b 0'],
];

describe('dotstub query arguments', () => {
  for (const { args, expect } of accepted) {
    it(`accepts ${JSON.stringify(args)}`, () => {
      const parsed = parseQueryArgs(args);
      for (const [key, value] of Object.entries(expect))
        assert.deepEqual(parsed[key as keyof QueryArgs], value, key);
    });
  }
  for (const [args, message] of rejected) {
    it(`rejects ${JSON.stringify(args)}`, () => {
      assert.throws(
        () => parseQueryArgs(args),
        (err: unknown) => {
          assert.ok(err instanceof QueryUsageError);
          assert.equal(err.message, message);
          assert.equal(err.code, 'ERR_DOTSTUB_USAGE');
          return true;
        },
      );
    });
  }
});
