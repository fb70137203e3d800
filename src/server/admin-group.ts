/**
 * The group that may read the control socket besides its owner: the one each OS gives its administrators.
 * Debian and Ubuntu: `adm` (the group that already reads system logs, which say as much as status does);
 * Fedora, Arch and the BSDs: `wheel`; macOS: `admin`. The first that exists on the machine wins; with none,
 * the socket stays root's group and only root reads it.
 */
import { readFile } from 'node:fs/promises';

export const ADMIN_GROUPS: Readonly<Partial<Record<NodeJS.Platform, readonly string[]>>> = {
  linux: ['adm', 'wheel'],
  darwin: ['admin'],
  freebsd: ['wheel'],
  openbsd: ['wheel'],
  netbsd: ['wheel'],
};

/** The first candidate group found in /etc/group text (`name:password:gid:members` lines). */
export function findAdminGroup(
  platform: NodeJS.Platform,
  groupFile: string,
): { readonly name: string; readonly gid: number } | undefined {
  const gids = new Map<string, number>();
  for (const line of groupFile.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name !== undefined && gid !== undefined && /^\d+$/.test(gid)) gids.set(name, Number(gid));
  }
  for (const name of ADMIN_GROUPS[platform] ?? []) {
    const gid = gids.get(name);
    if (gid !== undefined) return { name, gid };
  }
  return undefined;
}

/** Reads /etc/group (macOS keeps its standard groups there too); undefined when it cannot be read. */
export async function systemAdminGroup(
  platform: NodeJS.Platform = process.platform,
): Promise<{ readonly name: string; readonly gid: number } | undefined> {
  try {
    return findAdminGroup(platform, await readFile('/etc/group', 'utf8'));
  } catch {
    return undefined;
  }
}
