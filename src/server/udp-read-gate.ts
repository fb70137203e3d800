/**
 * Backpressure for the UDP listeners: with GATE_HIGH queries in flight upstream and answers still coming,
 * stop reading datagrams until GATE_LOW are left, so that the queue of a saturated daemon waits in the
 * sockets' receive buffers (2 MiB each, udp-listener.ts) rather than in the heap.
 *
 * Why: at the maximum rate dnsperf keeps 500 queries outstanding; read at once they all waited ~10 ms in
 * the in-flight tables, longer than the ~5 ms between young-generation collections, so each scavenge
 * copied and promoted the objects of hundreds of waiting queries (--trace-gc-nvp: 152 KB survived and 39
 * KB promoted per scavenge, 0.43 ms a pause, against 15 KB and 0.29 ms for a bare forwarder). The
 * upstream answers no faster for holding more of them: the queue only moves. By hand against the
 * loopback unbound, alternating builds: CPU per query 14.0-14.8 against 15.8-15.9 µs at dnsperf -c 4 -q
 * 500, 13.6-14.5 against 17.3-18.1 at -c 16 -q 2000, 15.4 against 16.0 on average after the bench's
 * search sequence; peak memory 65 against 77-78 MiB. The price: beyond the receive buffer (dnsperf's
 * 4,000 outstanding) the kernel drops datagrams, as it does for any UDP server, where the heap took them.
 * 128/64 halved the throughput (unbound's Nagle holds answers while we write nothing).
 *
 * Only while answers flow: a pause that sees no answer for STALL_MS (an upstream that stopped answering,
 * queries waiting on timeouts) reopens the gate and keeps it open until answers come again, so a dead
 * upstream never throttles the listeners (cache hits, other upstreams and SERVFAILs go on as before).
 * Far below GATE_HIGH (a desktop's load) the gate is never shut.
 *
 * Node has no public pause for a dgram socket; its handle's recvStop()/recvStart() (libuv's
 * uv_udp_recv_stop/start) are what dgram itself calls, reached through the socket's state symbol. On a
 * Node without them the gate stays open and the daemon reads as before (readSwitch returns undefined).
 */
import type { Socket } from 'node:dgram';
import type { Clock, Timer } from '../util/clock.js';

/** Queries in flight upstream at which the listeners stop reading. */
export const GATE_HIGH = 256;
/** ...and at which they read again. */
export const GATE_LOW = 128;
/**
 * A pause with no answer for this long means the upstreams stall: reopen, and stop gating. Not shorter: on
 * a busy machine the upstream (or this process) is often descheduled for a few milliseconds, and a gate
 * that reopened after 5 ms then read the clients' whole queue (dnsperf's 500-2,000 outstanding) into one
 * connection already at its in-flight cap, so the pool opened a second (connection-pool.ts) and kept it
 * for the rest of the load: by hand at dnsperf -c 16 -q 2000, two connections in 1 of 5 runs with 5 ms
 * and none of 5 with 50; the bench of 2026-11-25 09:52 had two at its maximum and at 2,000 q/s (after the
 * warm-up) in one repetition each. 50 ms still reopens long before any query's budget runs out.
 */
export const STALL_MS = 50;

export interface ReadSwitch {
  stop(): void;
  start(): void;
}

interface UdpHandle {
  recvStop(): number;
  recvStart(): number;
}

/** Stop and start reading `socket` (bound), or undefined when this Node does not offer it. */
export function readSwitch(socket: Socket): ReadSwitch | undefined {
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  if (state === undefined) return undefined;
  const handle = (socket as unknown as Record<symbol, { handle?: Partial<UdpHandle> } | undefined>)[state]
    ?.handle;
  if (typeof handle?.recvStop !== 'function' || typeof handle.recvStart !== 'function') return undefined;
  const h = handle as UdpHandle;
  return {
    stop: () => void h.recvStop(),
    start: () => void h.recvStart(),
  };
}

export class UdpReadGate {
  readonly #outstanding: () => number;
  readonly #answered: () => number;
  readonly #clock: Clock;
  readonly #switches = new Set<ReadSwitch>();
  #shut = false;
  /** Upstream answers counted when the gate shut or last checked: no change by STALL_MS is a stall. */
  #mark = 0;
  /** The upstreams stalled during a pause: no pausing until they answer again. */
  #stalled = false;
  #timer: Timer | undefined;
  readonly #counters: { udpReadPauses: number };

  /**
   * `outstanding`: queries in flight upstream (the resolver's); `answered`: a count of answers from
   * upstreams that only grows (locally made SERVFAILs, timeouts among them, do not count); `counters`
   * counts the pauses (status).
   */
  constructor(
    outstanding: () => number,
    answered: () => number,
    clock: Clock,
    counters: { udpReadPauses: number } = { udpReadPauses: 0 },
  ) {
    this.#outstanding = outstanding;
    this.#answered = answered;
    this.#clock = clock;
    this.#counters = counters;
  }

  /** Times the gate shut. */
  get pauses(): number {
    return this.#counters.udpReadPauses;
  }

  /** A listener's socket; undefined when this Node offers no way to pause it (it is then never paused). */
  add(socket: Socket): ReadSwitch | undefined {
    const sw = readSwitch(socket);
    if (sw !== undefined) this.addSwitch(sw);
    return sw;
  }

  addSwitch(sw: ReadSwitch): void {
    this.#switches.add(sw);
    if (this.#shut) sw.stop();
  }

  /** A listener closing: its socket is no longer the gate's to stop or start. */
  remove(sw: ReadSwitch): void {
    this.#switches.delete(sw);
  }

  /** A datagram was handled: shut when enough are in flight and the upstreams answer. */
  afterQuery(): void {
    if (this.#shut || this.#outstanding() < GATE_HIGH) return;
    if (this.#stalled) {
      if (this.#answered() === this.#mark) return;
      this.#stalled = false;
    }
    this.#shut = true;
    this.#counters.udpReadPauses++;
    this.#mark = this.#answered();
    for (const sw of this.#switches) sw.stop();
    if (this.#timer === undefined) this.#timer = this.#clock.setTimeout(this.#check, STALL_MS);
    else this.#timer.refresh(STALL_MS);
  }

  /** A client's query left the resolver (any transport): open again once few enough are left in flight. */
  afterAnswer(): void {
    if (this.#shut && this.#outstanding() <= GATE_LOW) this.#open();
  }

  /** Stops the timer and reads again (the daemon is closing). */
  clear(): void {
    this.#timer?.clear();
    if (this.#shut) this.#open();
  }

  #open(): void {
    this.#shut = false;
    for (const sw of this.#switches) sw.start();
  }

  readonly #check = (): void => {
    if (!this.#shut) return;
    // Answers that passed no afterAnswer() (prefetches, a listener's own) may have freed the room.
    if (this.#outstanding() <= GATE_LOW) {
      this.#open();
      return;
    }
    const answered = this.#answered();
    if (answered === this.#mark) {
      // Nothing answered in STALL_MS: the queue is not moving, so holding clients back gains nothing.
      this.#stalled = true;
      this.#open();
      return;
    }
    this.#mark = answered;
    this.#timer?.refresh(STALL_MS);
  };
}
