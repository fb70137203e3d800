// The things measured. Each forwarder target has start(ctx, dir) -> { proc, port }: a process listening for
// clear DNS on 127.0.0.1:port and forwarding over TLS to the upstream unbound. `direct` has no process of its
// own: dnsperf speaks DoT to the upstream itself (the limit).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { start, freePort } from './procs.mjs';
import { AUTH_NAME, runArgs } from './setup.mjs';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
// What the package's `dotstub` bin runs: the bundle of the compiled CLI (scripts/bundle.mjs).
export const DOTSTUB_MAIN = join(ROOT, 'dist/src/cli/dotstub.mjs');
const BARE_FORWARDER = join(ROOT, 'scripts/bench-lib/bare-forwarder.mjs');

/**
 * The environment dotstub runs in: this one without NODE_EXTRA_CA_CERTS, as a service has it (systemd,
 * launchd and the Windows task start it with a clean environment). Node 20 reads and parses that bundle at
 * every start, before any of dotstub's code: `node -e 0` took 122 ms with the system bundle named there
 * and 36 ms without, on the machine of the README's table. The bench says so when it drops it.
 */
export function serviceEnv() {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

/** Arguments of `dotstub query` for one name at the bench's upstream, Strict with the pin. */
export function queryArgs(ctx, name) {
  return [
    DOTSTUB_MAIN,
    'query',
    `@127.0.0.1#${ctx.upstreamPort}~${AUTH_NAME}`,
    '-K',
    `pin-sha256="${ctx.pin}"`,
    '--ca-file',
    ctx.caFile,
    name,
    'A',
  ];
}

function dotstub(ctx, dir, port) {
  // DOTSTUB_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles dotstub under the same load;
  // DOTSTUB_BENCH_MAIN=other.js runs another script with the same arguments in its place (a reference forwarder).
  const nodeArgs = (process.env.DOTSTUB_BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const args = [
    ...nodeArgs,
    process.env.DOTSTUB_BENCH_MAIN ?? DOTSTUB_MAIN,
    ...runArgs({ port, upstreamPort: ctx.upstreamPort, pin: ctx.pin, caFile: ctx.caFile }),
  ];
  return start(process.execPath, args, { logFile: join(dir, 'dotstub.log'), cwd: ROOT, env: serviceEnv() });
}

/**
 * The floor: bare-forwarder.mjs (UDP in, one pipelined TLS connection out, no parsing, no checks, no padding,
 * no cache) on the same Node and arguments. Not a resolver and never in the "best other forwarder" ratios:
 * its row shows what the runtime and this machine cost before any of dotstub's work, so each run says how
 * much of dotstub's figures is dotstub's.
 */
function bareForwarder(ctx, dir, port) {
  const args = [
    BARE_FORWARDER,
    '--listen',
    `127.0.0.1@${port}`,
    '--upstream',
    `127.0.0.1#${ctx.upstreamPort}`,
  ];
  return start(process.execPath, args, {
    logFile: join(dir, 'bare-forwarder.log'),
    cwd: ROOT,
    env: serviceEnv(),
  });
}

function stubby(ctx, dir, port) {
  const conf = join(dir, 'stubby.yml');
  writeFileSync(
    conf,
    [
      'resolution_type: GETDNS_RESOLUTION_STUB',
      'dns_transport_list:',
      '  - GETDNS_TRANSPORT_TLS',
      'tls_authentication: GETDNS_AUTHENTICATION_REQUIRED',
      'tls_query_padding_blocksize: 128',
      'idle_timeout: 10000',
      'round_robin_upstreams: 1',
      'listen_addresses:',
      `  - 127.0.0.1@${port}`,
      `tls_ca_file: "${ctx.caFile}"`,
      'upstream_recursive_servers:',
      '  - address_data: 127.0.0.1',
      `    tls_port: ${ctx.upstreamPort}`,
      `    tls_auth_name: "${AUTH_NAME}"`,
      '    tls_pubkey_pinset:',
      '      - digest: "sha256"',
      `        value: ${ctx.pin}`,
      '',
    ].join('\n'),
  );
  return start('stubby', ['-C', conf], { logFile: join(dir, 'stubby.log'), cwd: dir });
}

function unboundForwarder(ctx, dir, port) {
  const conf = join(dir, 'forwarder.conf');
  writeFileSync(
    conf,
    [
      'server:',
      `  interface: 127.0.0.1@${port}`,
      `  port: ${port}`,
      '  do-daemonize: no',
      '  username: ""',
      '  chroot: ""',
      `  directory: "${dir}"`,
      '  pidfile: ""',
      '  use-syslog: no',
      '  logfile: ""',
      '  verbosity: 0',
      '  num-threads: 1',
      '  do-ip4: yes',
      '  do-ip6: no',
      '  do-udp: yes',
      '  do-tcp: yes',
      '  access-control: 127.0.0.0/8 allow',
      '  do-not-query-localhost: no',
      '  module-config: "iterator"',
      // unbound answers the RFC 6761 names itself (test. is NXDOMAIN by default): forward it instead.
      '  local-zone: "test." nodefault',
      `  tls-cert-bundle: "${ctx.caFile}"`,
      '  outgoing-num-tcp: 10',
      '  num-queries-per-thread: 4096',
      '  statistics-interval: 0',
      'forward-zone:',
      '  name: "."',
      '  forward-tls-upstream: yes',
      `  forward-addr: 127.0.0.1@${ctx.upstreamPort}#${AUTH_NAME}`,
      '',
    ].join('\n'),
  );
  return start('unbound', ['-d', '-c', conf], { logFile: join(dir, 'unbound-forwarder.log') });
}

function kresd(ctx, dir, port) {
  const conf = join(dir, 'kresd.lua');
  writeFileSync(
    conf,
    [
      `net.listen('127.0.0.1', ${port}, { kind = 'dns' })`,
      // No DNSSEC validation (as for the others), no root priming or clock checks: forwarding only.
      "trust_anchors.remove('.')",
      "modules.unload('priming')",
      "modules.unload('detect_time_skew')",
      "modules.unload('detect_time_jump')",
      'cache.size = 100 * MB',
      `policy.add(policy.all(policy.TLS_FORWARD({{'127.0.0.1@${ctx.upstreamPort}', hostname='${AUTH_NAME}', ca_file='${ctx.caFile}'}})))`,
      '',
    ].join('\n'),
  );
  return start('kresd', ['-n', '-q', '-c', conf, dir], { logFile: join(dir, 'kresd.log'), cwd: dir });
}

/** Targets in run order. mode: dnsperf transport to the target; starter: how to start its process. */
export const TARGETS = [
  { name: 'direct-tls', label: 'unbound direct (DoT)', mode: 'dot' },
  { name: 'dotstub', label: 'dotstub (UDP)', mode: 'udp', starter: dotstub },
  {
    name: 'node-floor',
    label: 'bare Node forwarder (UDP; reference, no checks)',
    mode: 'udp',
    starter: bareForwarder,
  },
  { name: 'stubby', label: 'stubby (UDP)', mode: 'udp', starter: stubby },
  {
    name: 'unbound-fwd',
    label: 'unbound forwarder (UDP)',
    mode: 'udp',
    starter: unboundForwarder,
    other: true,
  },
  { name: 'kresd', label: 'Knot Resolver (UDP)', mode: 'udp', starter: kresd, other: true },
  { name: 'dotstub-tcp', label: 'dotstub (TCP clients)', mode: 'tcp', starter: dotstub },
];

/** Starts a target's process in a fresh directory on a fresh port. */
export async function startTarget(target, ctx, dir) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const proc = target.starter(ctx, dir, port);
  return { proc, port };
}
