// A bare Node.js DNS forwarder, for scale only: UDP in, one pipelined TLS connection out, raw buffers, no
// parsing, no authentication (rejectUnauthorized: false), no timeouts, no cache. It is what the runtime
// costs with nothing of dotstub's work on top, so the floor the targets of the speed issue can be read
// against on a given machine. scripts/bench runs it as its `node-floor` row (targets.mjs); it also runs in
// dotstub's place, with dotstub's arguments:
//   DOTSTUB_BENCH_MAIN=scripts/bench-lib/bare-forwarder.mjs scripts/bench --short --only dotstub
// Never use it as a resolver: it checks nothing.
import { createSocket } from 'node:dgram';
import { connect } from 'node:tls';

const argv = process.argv;
const listenPort = Number(argv[argv.indexOf('--listen') + 1].split('@')[1]);
const upstreamPort = Number(argv[argv.indexOf('--upstream') + 1].split('#')[1].split('~')[0]);

const udp = createSocket('udp4');
/** By our ID on the TLS connection: the client's ID, port and address. */
const waiting = new Array(65536);
let nextId = 0;
let pending = Buffer.alloc(0);
let queued = [];

// One connection, opened again if the upstream closes it (an idle timeout between phases, say): a bench
// row, so it should not take the run down. Queries in flight on a closed connection are lost.
let tls;
function open() {
  pending = Buffer.alloc(0);
  tls = connect({ host: '127.0.0.1', port: upstreamPort, rejectUnauthorized: false });
  tls.on('data', onData);
  tls.on('error', (err) => console.error(`bare-forwarder: upstream connection: ${err.message}`));
  tls.on('close', () => setTimeout(open, 100));
}

function onData(chunk) {
  pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
  while (pending.length >= 2) {
    const length = pending.readUInt16BE(0);
    if (pending.length < length + 2) break;
    const answer = pending.subarray(2, 2 + length);
    pending = pending.subarray(2 + length);
    const client = waiting[answer.readUInt16BE(0)];
    if (client === undefined) continue;
    waiting[answer.readUInt16BE(0)] = undefined;
    answer.writeUInt16BE(client.id, 0);
    udp.send(answer, client.port, client.address);
  }
}
open();

const flush = () => {
  const frames = Buffer.concat(queued);
  queued = [];
  tls.write(frames);
};

udp.on('message', (query, rinfo) => {
  nextId = (nextId + 1) & 0xffff;
  waiting[nextId] = { id: query.readUInt16BE(0), port: rinfo.port, address: rinfo.address };
  const frame = Buffer.allocUnsafe(query.length + 2);
  frame.writeUInt16BE(query.length, 0);
  query.copy(frame, 2);
  frame.writeUInt16BE(nextId, 2);
  if (queued.length === 0) setImmediate(flush);
  queued.push(frame);
});
// The receive buffer dotstub sets too (src/server/udp-listener.ts): costs no CPU, and without it the row's
// losses at the maximum (and dnsperf's timeouts waiting for them) were the kernel's default buffer.
udp.bind(listenPort, '127.0.0.1', () => udp.setRecvBufferSize(2 * 1024 * 1024));

// Exit on the bench's SIGTERM through process.exit, so --cpu-prof can write its profile.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => process.exit(0));
