/**
 * Whether the machine has a route to an address, asked without sending a packet: connect() on a UDP
 * socket only makes the kernel look up the route and pick a source address (no datagram leaves), and
 * fails with ENETUNREACH (no route) or EADDRNOTAVAIL (no source address of that family) when there is
 * none. That is how an IPv6 upstream is skipped on an IPv4-only network (stubby#82).
 */
import { createSocket } from 'node:dgram';
import { isV6Address } from '../util/ip-literal.js';

/** Errors that mean "no route from here"; anything else counts as reachable (we would rather try). */
const NO_ROUTE = new Set(['ENETUNREACH', 'EADDRNOTAVAIL', 'EHOSTUNREACH', 'EAFNOSUPPORT']);

export type RouteProbe = (address: string) => Promise<boolean>;

export const probeRoute: RouteProbe = (address) =>
  new Promise((resolve) => {
    let socket;
    try {
      socket = createSocket(isV6Address(address) ? 'udp6' : 'udp4');
    } catch (err) {
      resolve(!NO_ROUTE.has((err as NodeJS.ErrnoException).code ?? ''));
      return;
    }
    let settled = false;
    const done = (err: NodeJS.ErrnoException | null | undefined): void => {
      if (settled) return;
      settled = true;
      socket.close();
      resolve(err == null || !NO_ROUTE.has(err.code ?? ''));
    };
    socket.on('error', done);
    // The port does not matter for the route; 53 keeps it obvious in a trace. Node passes a connect
    // failure to this callback (and emits 'error' only without one).
    const connected = done as () => void;
    socket.connect(53, address, connected);
  });
