/**
 * Wiring and lifecycle only: upstreams -> resolver (with the desktop router) -> cache -> listeners.
 * close() stops accepting, answers what is in flight and closes upstream connections; destroy() cuts
 * everything now; reload() applies new settings in place (src/server/reload.ts).
 */
import type { ResponseCache } from '../cache/response-cache.js';
import { registerDesktopControl } from '../desktop/desktop-control.js';
import { DesktopLife } from '../desktop/desktop-life.js';
import { ListenError } from '../errors.js';
import { Resolver } from '../resolver/resolver.js';
import { systemClock } from '../util/clock.js';
import { registerCacheControl } from './cache-control.js';
import type { ControlServer } from './control-server.js';
import { readCaFile } from '../upstream/ca-file.js';
import { bindPair, createCache, NO_TLS_STATUS, openControl, startTls } from './daemon-parts.js';
import type { Daemon, DaemonOptions, ListenSpec } from './daemon-types.js';
import { newServerCounters, type QueryContext } from './query-handler.js';
import { UdpReadGate } from './udp-read-gate.js';
import {
  buildUpstreams,
  listenKey,
  reloadDaemon,
  resolverOptions,
  sharedUpstreamOptions,
  type DaemonState,
  type LiveListener,
} from './reload.js';
import { buildStatusSnapshot, type StatusSection } from './status-snapshot.js';
import { DEFAULT_TCP_LIMITS } from './tcp-listener.js';
import type { TlsService } from './tls-service.js';
import type { ListenerStatus } from './tls-status.js';
import { bracketed } from '../util/ip-literal.js';

export type { BoundAddress, Daemon, DaemonOptions, ListenSpec } from './daemon-types.js';

interface Opened {
  readonly control: ControlServer | undefined;
  readonly tls: TlsService | undefined;
}

/** Binds the listeners, the DoT service and the control socket; on any failure undoes all of it. */
async function openAll(
  options: DaemonOptions,
  state: DaemonState,
  ctx: QueryContext,
  desktop: DesktopLife,
): Promise<Opened> {
  let control: ControlServer | undefined;
  let tls: TlsService | undefined;
  try {
    for (const spec of options.listen) {
      const live = await state.bind(spec);
      if (live !== undefined) state.listeners.push(live);
    }
    if (state.listeners.length === 0) throw new ListenError('no listen address could be bound');
    tls = await startTls(options, ctx, state.clock);
    control = await openControl(options);
    await desktop.start();
    return { control, tls };
  } catch (err) {
    await tls?.close();
    await Promise.all(state.listeners.flatMap((l) => [l.udp.close(), l.tcp.close()]));
    await control?.close();
    desktop.destroy();
    state.resolver.destroy();
    throw err;
  }
}

/** Control methods and status sections of every feature. */
function registerFeatures(
  opened: Opened,
  state: DaemonState,
  ctx: QueryContext,
  desktop: DesktopLife,
  options: DaemonOptions,
): { statusSections: Map<string, StatusSection>; listenerStatus: () => ListenerStatus } {
  const { control, tls } = opened;
  const { cache } = ctx;
  const statusSections = new Map<string, StatusSection>();
  const listenerStatus = (): ListenerStatus => tls?.status() ?? NO_TLS_STATUS;
  const statusSource = {
    resolver: state.resolver,
    counters: ctx.counters,
    get listen() {
      return state.listeners.map((l) => `${bracketed(l.address.host)}@${l.address.port}`);
    },
    strategy: options.selection,
    statusSections,
    clock: state.clock,
  };
  if (control !== undefined) {
    control.handle('status', () => buildStatusSnapshot(statusSource));
    control.handle('listener.status', listenerStatus);
    registerCacheControl(control, cache);
    registerDesktopControl(control, desktop);
  }
  if (tls !== undefined) statusSections.set('listener', listenerStatus);
  statusSections.set('network', () => desktop.status());
  if (cache !== undefined) {
    statusSections.set('cache', () => cache.stats());
    // Answers may depend on the network (split horizons, captive portals): a new network starts afresh.
    desktop.events.on('network-change', () => {
      cache.flush();
    });
  }
  return { statusSections, listenerStatus };
}

/** After a reload: the router probes the new upstreams, and the cache drops answers of the old ones. */
function onReconfigured(desktop: DesktopLife, cache: ResponseCache | undefined): DaemonState['reconfigured'] {
  return (options, upstreams, upstreamsChanged) => {
    desktop.setPublicUpstreams(upstreams.map((u) => u.upstream));
    // Answers of upstreams that are gone, or of another profile, must not outlive them (issue 9).
    if (upstreamsChanged) cache?.upstreamsChanged(options.upstreams.map((u) => u.profile ?? 'strict'));
  };
}

export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const clock = options.clock ?? systemClock;
  const { logger } = options;
  const shared = sharedUpstreamOptions(options, readCaFile(options.caFile), clock, logger);
  const upstreams = buildUpstreams(options, shared, []);
  const desktop = new DesktopLife(
    options.desktop ?? { watchNetwork: false },
    shared,
    upstreams.map((u) => u.upstream),
  );
  const resolver = new Resolver({ ...resolverOptions(options, upstreams, clock, logger), router: desktop });
  desktop.attach(resolver);
  const cache = createCache(options, resolver, clock, logger);
  const counters = newServerCounters();
  const upstreamAnswers = (): number => counters.upstreamAnswers.tls + counters.upstreamAnswers.clear;
  const udpGate = new UdpReadGate(() => resolver.outstanding, upstreamAnswers, clock, counters);
  const ctx: QueryContext = { resolver, cache, counters, logger, udpGate };
  const bind = async (spec: ListenSpec): Promise<LiveListener | undefined> => {
    const bound = await bindPair(spec, ctx, options.tcp ?? DEFAULT_TCP_LIMITS, logger);
    if (bound === undefined) return undefined;
    return { key: listenKey(spec), ...bound, address: { host: spec.host, port: bound.udp.port } };
  };
  const state: DaemonState = {
    upstreams,
    listeners: [],
    resolver,
    clock,
    logger,
    bind,
    readCa: readCaFile,
    reconfigured: onReconfigured(desktop, cache),
  };
  // The daemon's own desktop life (not the bare stacks of tests): connect while the listeners bind.
  if (options.desktop !== undefined) desktop.warmUpstreams();
  const opened = await openAll(options, state, ctx, desktop);
  const { control, tls } = opened;
  const { statusSections, listenerStatus } = registerFeatures(opened, state, ctx, desktop, options);
  let closing: Promise<void> | undefined;
  return {
    get addresses() {
      return state.listeners.map((l) => l.address);
    },
    tlsAddresses: tls?.listeners.map((l) => ({ host: l.host, port: l.port })) ?? [],
    resolver,
    get upstreams() {
      return state.upstreams.flatMap((l) => (l.tls === undefined ? [] : [l.tls]));
    },
    counters,
    cache,
    control,
    statusSections,
    listenerStatus,
    desktop,
    events: desktop.events,
    reload: (next) => reloadDaemon(state, next),
    close: () =>
      (closing ??= (async () => {
        await control?.close();
        const listeners = state.listeners.flatMap((l) => [l.udp.close(), l.tcp.close()]);
        await Promise.all([...listeners, ...(tls === undefined ? [] : [tls.close()])]);
        udpGate.clear();
        await desktop.close();
        await resolver.close();
      })()),
    destroy: () => {
      void control?.close();
      for (const l of state.listeners) l.tcp.destroy();
      tls?.destroy();
      void Promise.all(state.listeners.map((l) => l.udp.close()));
      udpGate.clear();
      desktop.destroy();
      resolver.destroy();
    },
  };
}
