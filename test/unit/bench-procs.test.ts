// The benchmark's process sampling (scripts/bench-lib/procs.mjs): the CPU, peak memory and TLS connection
// figures of its table are read from /proc by these functions, checked here against this test's own process
// and loopback connections it makes.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';

interface Procs {
  cpuSeconds(pid: number): number;
  peakRssMiB(pid: number): number | undefined;
  tcpActiveOpens(): number | undefined;
  establishedTo(pid: number, remotePort: number): number[];
}

const procs = (await import(new URL('../../../scripts/bench-lib/procs.mjs', import.meta.url).href)) as Procs;

describe('benchmark process sampling (Linux /proc)', { skip: process.platform !== 'linux' }, () => {
  it('reads CPU time that grows with work, and a peak resident set', () => {
    const before = procs.cpuSeconds(process.pid);
    // About 200 ms of CPU, bounded in time: /proc counts in 10 ms ticks.
    const until = Date.now() + 200;
    let x = 0;
    while (Date.now() < until) x = (x * 31 + 7) % 1_000_003;
    assert.ok(x >= 0);
    const after = procs.cpuSeconds(process.pid);
    assert.ok(after - before >= 0.1, `CPU ${before} -> ${after} s`);
    const peak = procs.peakRssMiB(process.pid);
    assert.ok(peak !== undefined && peak > 10 && peak < 4096, `peak ${String(peak)} MiB`);
    assert.equal(procs.peakRssMiB(2 ** 22 + 12345), undefined, 'no such process');
  });

  it('counts the connections a process holds to one remote port, over IPv4 and IPv6, and the opens', async () => {
    const servers = [createServer(), createServer()];
    const clients: Socket[] = [];
    try {
      await Promise.all([
        once(servers[0]!.listen(0, '127.0.0.1'), 'listening'),
        once(servers[1]!.listen(0, '::1'), 'listening'),
      ]);
      const [v4, v6] = servers.map((s) => (s.address() as AddressInfo).port) as [number, number];
      const opensBefore = procs.tcpActiveOpens();
      for (const [host, port, n] of [
        ['127.0.0.1', v4, 3],
        ['::1', v6, 2],
      ] as const)
        for (let i = 0; i < n; i++) {
          const socket = connect(port, host);
          clients.push(socket);
          await once(socket, 'connect');
        }
      const localPorts = (port: number): number[] =>
        clients.filter((c) => c.remotePort === port).map((c) => c.localPort ?? 0);
      assert.deepEqual(procs.establishedTo(process.pid, v4).sort(), localPorts(v4).sort());
      assert.deepEqual(procs.establishedTo(process.pid, v6).sort(), localPorts(v6).sort());
      const opensAfter = procs.tcpActiveOpens();
      assert.ok(opensBefore !== undefined && opensAfter !== undefined);
      // The counter is the network namespace's: other processes may add to it, never take from it.
      assert.ok(opensAfter - opensBefore >= 5, `ActiveOpens ${opensBefore} -> ${opensAfter}`);
      for (const c of clients) c.destroy();
      await Promise.all(clients.map((c) => once(c, 'close')));
      // Closed sockets leave the process's descriptors, so they no longer count, whatever their TCP state.
      assert.deepEqual(procs.establishedTo(process.pid, v4), []);
    } finally {
      for (const c of clients) c.destroy();
      for (const s of servers) s.close();
    }
  });
});
