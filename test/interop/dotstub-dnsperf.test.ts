// Load through dotstub with dnsperf: every query sent must be answered, with the right RCODE, at a rate a
// desktop never reaches (5000 q/s), over UDP and over pipelined TCP.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  dnsperf,
  dnsperfQueries,
  explain,
  InteropEnv,
  makeTempDir,
  requirePeer,
  type Transport,
} from './harness.js';

const env = new InteropEnv();
const temp = makeTempDir('dnsperf');
after(async () => {
  const problems = await env.close();
  temp.remove();
  assert.deepEqual(problems, []);
});

const runs: { mode: Transport; queries: number; clients: number }[] = [
  { mode: 'udp', queries: 20_000, clients: 10 },
  { mode: 'tcp', queries: 5_000, clients: 4 },
];

for (const { mode, queries, clients } of runs) {
  void test(`dnsperf over ${mode.toUpperCase()}: ${queries} queries at ≤5000 q/s, none lost, RCODEs as the zone says`, async (t) => {
    if (!requirePeer(t, 'dnsperf')) return;
    const d = await env.dotstub(t);
    if (!d) return;
    const ub = await env.unbound(t);
    if (!ub) return;
    const { text, nxdomain } = dnsperfQueries(queries);
    const queryFile = join(temp.dir, `queries-${mode}.txt`);
    writeFileSync(queryFile, text);
    const upstreamBefore = await ub.queriesReceived();
    const r = await dnsperf(d.port, { queryFile, runs: 1, maxQps: 5000, clients, mode, timeLimitS: 30 });
    const why = explain(r, d);
    assert.equal(r.tool.code, 0, why);
    assert.equal(r.sent, queries, why);
    assert.equal(r.completed, queries, why);
    assert.equal(r.lost, 0, why);
    assert.deepEqual(r.rcodes, { NOERROR: queries - nxdomain, NXDOMAIN: nxdomain }, why);
    const upstream = (await ub.queriesReceived()) - upstreamBefore;
    t.diagnostic(
      `${mode}: ${String(r.qps)} q/s, average latency ${String(r.avgLatencyS)} s, unbound received ${upstream} queries`,
    );
  });
}
