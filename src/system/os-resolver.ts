/**
 * `dotstub system enable/disable` as plans. Before the first change the previous state is saved (files byte for
 * byte with mode and link target, each macOS service's and Windows interface's servers) in the data directory;
 * enabling again keeps that first saved state, and disabling restores it and then deletes it.
 */
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { HostPort } from '../config/addresses.js';
import { SystemChangeError } from '../errors.js';
import { underRoot, type CommandRunner } from './executor.js';
import {
  detectLinuxBackend,
  linuxAfterRestore,
  linuxEnableSteps,
  readResolvConf,
  RESOLV_CONF,
  snapshotBackend,
  type LinuxBackend,
} from './linux-resolver.js';
import { gatherMacServices, macEnableSteps, macRestoreSteps, type MacService } from './macos-resolver.js';
import type { Step } from './plan.js';
import { restoreSteps, snapshotText, type PathSnapshot } from './snapshot.js';
import {
  gatherWinInterfaces,
  winEnableSteps,
  winRestoreSteps,
  type WinInterface,
} from './windows-resolver.js';

export type ResolverPlatform = 'linux' | 'darwin' | 'win32';

export type SavedResolverState = { readonly version: 1; readonly savedAt: string } & (
  | {
      readonly platform: 'linux';
      readonly backend: LinuxBackend;
      readonly snapshots: readonly PathSnapshot[];
    }
  | { readonly platform: 'darwin'; readonly services: readonly MacService[] }
  | { readonly platform: 'win32'; readonly interfaces: readonly WinInterface[] }
);

export interface ResolverEnv {
  readonly platform: ResolverPlatform;
  /** Prefix for file paths: '/' for real, a scratch directory in tests. */
  readonly root: string;
  readonly runner: CommandRunner;
  /** Where the previous state is kept (a path as the plan names it, taken under `root`). */
  readonly stateFile: string;
  readonly now: () => Date;
  /** Linux only: use this backend instead of detecting one. */
  readonly backend?: LinuxBackend | undefined;
}

export interface EnablePlan {
  readonly plan: Step[];
  readonly backend: string;
  /** False when an earlier enable already saved the original, which stays as it is. */
  readonly savesState: boolean;
  readonly warnings: string[];
}

export function readSavedState(env: ResolverEnv): SavedResolverState | undefined {
  let text: string;
  try {
    text = readFileSync(underRoot(env.root, env.stateFile), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new SystemChangeError(`cannot read the saved resolver state ${env.stateFile}`, err);
  }
  const state = JSON.parse(text) as SavedResolverState;
  if (state.platform !== env.platform)
    throw new SystemChangeError(`${env.stateFile} was saved on ${state.platform}, not ${env.platform}`);
  return state;
}

function saveSteps(env: ResolverEnv, state: SavedResolverState): Step[] {
  return [
    { kind: 'mkdir', path: dirname(env.stateFile), mode: 0o755 },
    { kind: 'write', path: env.stateFile, content: `${JSON.stringify(state, null, 2)}\n`, mode: 0o600 },
  ];
}

function linuxEnable(env: ResolverEnv, saved: SavedResolverState | undefined, servers: readonly HostPort[]) {
  const prior = saved?.platform === 'linux' ? saved : undefined;
  const backend = prior?.backend ?? env.backend ?? detectLinuxBackend(env.root);
  const snapshots = prior?.snapshots ?? snapshotBackend(env.root, backend);
  const resolvSnap = snapshots.find((s) => s.path === RESOLV_CONF);
  const original = (resolvSnap && snapshotText(resolvSnap)) ?? readResolvConf(env.root);
  const state: SavedResolverState = {
    version: 1,
    savedAt: env.now().toISOString(),
    platform: 'linux',
    backend,
    snapshots,
  };
  return { backend, state, steps: linuxEnableSteps(backend, servers, original) };
}

/**
 * The saved entries, plus any service or interface that appeared since the first enable (a new VPN): its own
 * servers are saved too, so disable gives them back. Saved entries are never replaced.
 */
function withNew<T>(
  prior: readonly T[] | undefined,
  now: readonly T[],
  key: (t: T) => string,
): { list: T[]; added: boolean } {
  if (prior === undefined) return { list: [...now], added: true };
  const known = new Set(prior.map(key));
  const fresh = now.filter((t) => !known.has(key(t)));
  return { list: [...prior, ...fresh], added: fresh.length > 0 };
}

async function otherEnable(
  env: ResolverEnv,
  saved: SavedResolverState | undefined,
  hosts: readonly string[],
) {
  const savedAt = saved?.savedAt ?? env.now().toISOString();
  if (env.platform === 'darwin') {
    const services = await gatherMacServices(env.runner);
    const m = withNew(saved?.platform === 'darwin' ? saved.services : undefined, services, (s) => s.name);
    const state: SavedResolverState = { version: 1, savedAt, platform: 'darwin', services: m.list };
    return { backend: 'networksetup', state, changed: m.added, steps: macEnableSteps(services, hosts) };
  }
  const interfaces = await gatherWinInterfaces(env.runner);
  const m = withNew(saved?.platform === 'win32' ? saved.interfaces : undefined, interfaces, (i) =>
    String(i.index),
  );
  const state: SavedResolverState = { version: 1, savedAt, platform: 'win32', interfaces: m.list };
  return {
    backend: 'Set-DnsClientServerAddress',
    state,
    changed: m.added,
    steps: winEnableSteps(interfaces, hosts),
  };
}

export async function planEnable(env: ResolverEnv, servers: readonly HostPort[]): Promise<EnablePlan> {
  const saved = readSavedState(env);
  const hosts = servers.map((s) => s.host);
  const { backend, state, steps, changed } =
    env.platform === 'linux'
      ? { ...linuxEnable(env, saved, servers), changed: saved === undefined }
      : await otherEnable(env, saved, hosts);
  const warnings: string[] = [];
  if (servers.some((s) => s.port !== 53) && backend !== 'resolved')
    warnings.push(`${backend} cannot name a port: the machine will ask port 53 on ${hosts.join(', ')}`);
  return {
    plan: [...(changed ? saveSteps(env, state) : []), ...steps],
    backend,
    savesState: saved === undefined,
    warnings,
  };
}

/** Undefined when nothing was saved: dotstub did not change this machine's resolver (or already put it back). */
export function planDisable(env: ResolverEnv): { plan: Step[]; backend: string } | undefined {
  const saved = readSavedState(env);
  if (saved === undefined) return undefined;
  const remove: Step = { kind: 'remove', path: env.stateFile };
  switch (saved.platform) {
    case 'linux':
      return {
        backend: saved.backend,
        plan: [...restoreSteps(saved.snapshots), ...linuxAfterRestore(saved.backend), remove],
      };
    case 'darwin':
      return { backend: 'networksetup', plan: [...macRestoreSteps(saved.services), remove] };
    case 'win32':
      return { backend: 'Set-DnsClientServerAddress', plan: [...winRestoreSteps(saved.interfaces), remove] };
  }
}
