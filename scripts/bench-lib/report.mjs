// Summarises repetitions and renders the table (Markdown, so the README can show it as printed).

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}
const max = (values) => {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  return v.length ? Math.max(...v) : undefined;
};

/** Per target: medians over repetitions (worst case for losses, failures, memory and connections). */
export function summarise(target, reps) {
  const pick = (phase, key) => reps.map((r) => r[phase]?.[key]);
  // Each repetition's own search pick (bench.mjs), in order, once each.
  const settings = [
    ...new Set(reps.flatMap((r) => (r.search ? [`-c ${r.search.clients} -q ${r.search.outstanding}`] : []))),
  ];
  const s = {
    name: target.name,
    label: target.label,
    mode: target.mode,
    repetitions: reps.length,
    max: {
      setting: settings.length > 0 ? settings.join(', ') : undefined,
      qps: median(pick('max', 'okQps')),
      lost: max(pick('max', 'lost')),
      failed: max(pick('max', 'failed')),
      sent: median(pick('max', 'sent')),
      cpuUsPerQuery: median(pick('max', 'cpuUsPerQuery')),
      upstreamCpuUsPerQuery: median(pick('max', 'upstreamCpuUsPerQuery')),
      tlsConnections: max(pick('max', 'connMax')),
      tlsConnectionsSeen: max(pick('max', 'connSeen')),
    },
  };
  for (const rate of ['r2000', 'r10000']) {
    s[rate] = {
      avgMs: median(pick(rate, 'avgMs')),
      p50Ms: median(pick(rate, 'p50Ms')),
      p99Ms: median(pick(rate, 'p99Ms')),
      /** correct answers per second reached (the rate asked, unless the target could not keep up) */
      qps: median(pick(rate, 'okQps')),
      lost: max(pick(rate, 'lost')),
      failed: max(pick(rate, 'failed')),
      cpuUsPerQuery: median(pick(rate, 'cpuUsPerQuery')),
      tlsConnections: max(pick(rate, 'connMax')),
    };
  }
  s.peakMemMiB = max(reps.map((r) => r.peakMemMiB));
  s.coldStartMs = median(reps.flatMap((r) => r.coldMs ?? []));
  const queryMs = reps.flatMap((r) => r.queryCommandMs ?? []);
  if (queryMs.length > 0) {
    s.queryCommandMs = median(queryMs);
    s.queryCommandSamples = queryMs.length;
  }
  s.coldStartSamples = reps.reduce((n, r) => n + (r.coldMs?.length ?? 0), 0);
  s.errors = reps.flatMap((r) => r.errors ?? []);
  return s;
}

const f = (x, digits = 0) => (x === undefined || x === null || !Number.isFinite(x) ? '—' : x.toFixed(digits));
const ms = (x) => f(x, x !== undefined && x >= 10 ? 1 : 2);

export function ratios(summaries) {
  const by = Object.fromEntries(summaries.map((s) => [s.name, s]));
  const d = by.dotstub;
  if (!d) return undefined;
  const others = summaries.filter((s) => ['stubby', 'unbound-fwd', 'kresd'].includes(s.name));
  const metrics = {
    throughput: { get: (s) => s.max.qps, better: 'higher' },
    cpuUsPerQuery: { get: (s) => s.max.cpuUsPerQuery, better: 'lower' },
    p50Ms2000: { get: (s) => s.r2000.p50Ms, better: 'lower' },
    p99Ms10000: { get: (s) => s.r10000.p99Ms, better: 'lower' },
    peakMemMiB: { get: (s) => s.peakMemMiB, better: 'lower' },
    coldStartMs: { get: (s) => s.coldStartMs, better: 'lower' },
  };
  const out = {};
  for (const [key, { get, better }] of Object.entries(metrics)) {
    const mine = get(d);
    const vals = others.map((s) => ({ name: s.name, v: get(s) })).filter((x) => Number.isFinite(x.v));
    const best = vals.sort((a, b) => (better === 'higher' ? b.v - a.v : a.v - b.v))[0];
    const r = (other) =>
      Number.isFinite(mine) && Number.isFinite(other) && other !== 0 ? mine / other : undefined;
    out[key] = {
      better,
      dotstub: mine,
      vsStubby: r(by.stubby && get(by.stubby)),
      vsBestOther: r(best?.v),
      bestOther: best?.name,
      vsDirect:
        ['throughput', 'p50Ms2000', 'p99Ms10000'].includes(key) && by['direct-tls']
          ? r(get(by['direct-tls']))
          : undefined,
      // The bare Node forwarder (targets.mjs): how far dotstub is from what Node alone costs on this machine.
      vsFloor: r(by['node-floor'] && get(by['node-floor'])),
    };
  }
  const tcp = by['dotstub-tcp'];
  if (tcp && by['direct-tls']) out.tcpThroughputVsDirect = r2(tcp.max.qps, by['direct-tls'].max.qps);
  return out;
}
const r2 = (a, b) => (Number.isFinite(a) && Number.isFinite(b) && b !== 0 ? a / b : undefined);

export function renderTable(summaries, rat) {
  const lines = [];
  lines.push(
    '| target | max q/s (dnsperf setting) | lost / SERVFAIL at max | CPU µs/q at max / 10k | ' +
      '2k q/s: avg / p50 / p99 ms | 10k q/s: avg / p50 / p99 ms | 10k q/s: rate reached | ' +
      'lost / SERVFAIL at 2k; at 10k | peak MiB | TLS conns 2k / 10k / max | cold start ms |',
  );
  lines.push('|' + ' --- |'.repeat(11));
  for (const s of summaries) {
    const stub = s.name !== 'direct-tls';
    const cpu = stub ? `${f(s.max.cpuUsPerQuery, 1)} / ${f(s.r10000.cpuUsPerQuery, 1)}` : '—';
    const conns = stub
      ? `${f(s.r2000.tlsConnections)} / ${f(s.r10000.tlsConnections)} / ${f(s.max.tlsConnections)}`
      : '—';
    lines.push(
      `| ${s.label} | ${f(s.max.qps)} (${s.max.setting ?? '?'}) | ${f(s.max.lost)} / ${f(s.max.failed)} | ${cpu} | ` +
        `${ms(s.r2000.avgMs)} / ${ms(s.r2000.p50Ms)} / ${ms(s.r2000.p99Ms)} | ` +
        `${ms(s.r10000.avgMs)} / ${ms(s.r10000.p50Ms)} / ${ms(s.r10000.p99Ms)} | ${f(s.r10000.qps)} | ` +
        `${f(s.r2000.lost)} / ${f(s.r2000.failed)}; ${f(s.r10000.lost)} / ${f(s.r10000.failed)} | ` +
        `${stub ? f(s.peakMemMiB, 1) : '—'} | ${conns} | ${stub ? f(s.coldStartMs, 0) : '—'} |`,
    );
  }
  if (rat) {
    lines.push('');
    lines.push(
      '| dotstub ratio | to stubby | to best other forwarder | to direct TLS | to bare Node forwarder |',
    );
    lines.push('| --- | --- | --- | --- | --- |');
    const names = {
      throughput: 'max throughput (higher is better)',
      cpuUsPerQuery: 'CPU per query at max (lower is better)',
      p50Ms2000: 'p50 at 2k q/s (lower is better)',
      p99Ms10000: 'p99 at 10k q/s (lower is better)',
      peakMemMiB: 'peak memory (lower is better)',
      coldStartMs: 'cold start (lower is better)',
    };
    for (const [key, label] of Object.entries(names)) {
      const r = rat[key];
      if (!r) continue;
      lines.push(
        `| ${label} | ${f(r.vsStubby, 2)} | ${f(r.vsBestOther, 2)}${r.bestOther ? ` (${r.bestOther})` : ''} | ${f(r.vsDirect, 2)} | ${f(r.vsFloor, 2)} |`,
      );
    }
    if (rat.tcpThroughputVsDirect !== undefined)
      lines.push(`| max throughput, dotstub over TCP clients | | | ${f(rat.tcpThroughputVsDirect, 2)} | |`);
  }
  return lines.join('\n');
}
