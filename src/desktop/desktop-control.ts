/**
 * Control methods of desktop life (the CLI's `dotstub portal`, and the status helper's merge):
 *   network.status -> DesktopStatus
 *   network.reset  -> DesktopStatus, after acting as on a network change (for resume hooks and scripts)
 *   portal {forMs} -> PortalStatus, opening or extending the window; {off: true} ends it; {} only reads
 */
import { ConfigError } from '../errors.js';
import type { ControlHandler } from '../control/protocol.js';
import type { DesktopLife } from './desktop-life.js';
import { MAX_PORTAL_MS } from './portal-mode.js';

export interface ControlRegistry {
  handle(method: string, handler: ControlHandler): void;
}

function portalParams(params: unknown): { forMs?: number; off?: boolean } {
  if (params === undefined || params === null) return {};
  if (typeof params !== 'object') throw new ConfigError('params', 'expected {"forMs": N} or {"off": true}');
  const { forMs, off } = params as { forMs?: unknown; off?: unknown };
  if (off !== undefined && typeof off !== 'boolean') throw new ConfigError('off', 'expected true or false');
  if (forMs === undefined) return off === undefined ? {} : { off };
  if (typeof forMs !== 'number' || !Number.isInteger(forMs) || forMs < 1000 || forMs > MAX_PORTAL_MS)
    throw new ConfigError(
      'forMs',
      `${JSON.stringify(forMs)} is not a whole number of ms from 1000 to ${MAX_PORTAL_MS}`,
    );
  return off === undefined ? { forMs } : { forMs, off };
}

export function registerDesktopControl(control: ControlRegistry, desktop: DesktopLife): void {
  control.handle('network.status', () => desktop.status());
  control.handle('network.reset', async () => {
    await desktop.networkChanged('manual');
    return desktop.status();
  });
  control.handle('portal', async (params) => {
    const { forMs, off } = portalParams(params);
    if (off === true) return desktop.portal.end('off');
    if (forMs !== undefined) return desktop.portal.begin(forMs);
    return desktop.portal.status();
  });
}
