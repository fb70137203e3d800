/** `dotstub run --user NAME`: after the daemon has bound its sockets as root, it becomes NAME (see system/privileges.ts). */
import { dirname } from 'node:path';
import { currentScope, dataDir } from '../config/paths.js';
import type { Daemon } from '../server/daemon.js';
import { dropPrivileges, dropTarget } from '../system/privileges.js';
import type { Logger } from '../util/logger.js';

export async function dropAfterBind(
  requested: string | undefined,
  daemon: Daemon,
  controlPath: string,
  logger: Logger,
): Promise<void> {
  try {
    const account = dropTarget(
      requested,
      daemon.addresses.map((a) => a.port),
      process.getuid?.(),
    );
    if (account === undefined) return;
    // The data directory is chosen while still root (the system one); the socket's directory stays writable so
    // the daemon can remove its socket on exit.
    const keep = [dataDir(currentScope())];
    if (daemon.control !== undefined) keep.push(dirname(controlPath), controlPath);
    dropPrivileges(account, keep);
    logger.info('dropped root', { user: account.name, uid: account.uid, gid: account.gid });
  } catch (err) {
    await daemon.close();
    throw err;
  }
}
