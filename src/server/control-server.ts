/**
 * The daemon's end of the control channel (see src/control/protocol.ts). Only the owner and the group may
 * connect (mode 0660 in a 0750 directory): status shows upstream state, and reload or cache flush change it.
 * A stale socket left by a crash is replaced; a live one means another daemon runs, and we say so.
 * As root, the group is the OS's admin group (admin-group.ts), so admins need no sudo for `dotstub status`.
 */
import { chmod, chown, mkdir, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import {
  MAX_REQUEST_BYTES,
  type ControlHandler,
  type ControlRequest,
  type ControlResponse,
} from '../control/protocol.js';
import { describeCause, ListenError } from '../errors.js';
import type { Logger } from '../util/logger.js';
import { systemAdminGroup } from './admin-group.js';

const isPipe = (path: string): boolean => path.startsWith('\\\\.\\pipe\\');

function errorResponse(id: number, err: unknown): ControlResponse {
  const code = (err as { code?: unknown }).code;
  return {
    id,
    ok: false,
    error: {
      code: typeof code === 'string' ? code : 'ERR_DOTSTUB_CONTROL',
      message: err instanceof Error ? err.message : String(err),
    },
  };
}

/** Resolves true when something accepts connections on the socket path. */
function socketIsLive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => {
      resolve(false);
    });
  });
}

/**
 * As root: the socket, and the directory if we made it, go to the admin group. A directory that was there
 * before (`--control /tmp/x.sock`) is not ours to change.
 */
async function shareWithAdmins(path: string, dir: string | undefined, logger: Logger): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const group = await systemAdminGroup();
  if (group === undefined) {
    logger.debug('no admin group found: the control socket is for root only');
    return;
  }
  try {
    if (dir !== undefined) await chown(dir, 0, group.gid);
    await chown(path, 0, group.gid);
  } catch (err) {
    logger.warn('could not give the control socket to the admin group', {
      group: group.name,
      cause: describeCause(err),
    });
  }
}

export class ControlServer {
  readonly path: string;
  readonly #handlers = new Map<string, ControlHandler>();
  readonly #sockets = new Set<Socket>();
  readonly #logger: Logger;
  #server: Server | undefined;

  private constructor(path: string, logger: Logger) {
    this.path = path;
    this.#logger = logger;
  }

  /** Adds a method; a later registration of the same name replaces the earlier one. */
  handle(method: string, handler: ControlHandler): void {
    this.#handlers.set(method, handler);
  }

  static async listen(path: string, logger: Logger): Promise<ControlServer> {
    const control = new ControlServer(path, logger);
    let createdDir: string | undefined;
    if (!isPipe(path)) {
      createdDir = await mkdir(dirname(path), { recursive: true, mode: 0o750 });
      if (await socketIsLive(path))
        throw new ListenError(
          `control socket ${path} is in use: another dotstub daemon is running (stop it first, or give this one --control PATH)`,
        );
      await unlink(path).catch(() => undefined);
    }
    const server = createServer((socket) => {
      control.#serve(socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) => {
        reject(new ListenError(`cannot open control socket ${path}: ${describeCause(err)}`, err));
      });
      server.listen(path, resolve);
    });
    if (!isPipe(path)) {
      await chmod(path, 0o660);
      await shareWithAdmins(path, createdDir === undefined ? undefined : dirname(path), logger);
    }
    control.#server = server;
    return control;
  }

  #serve(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('close', () => this.#sockets.delete(socket));
    socket.on('error', () => undefined);
    let pending = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      if (pending.length > MAX_REQUEST_BYTES) {
        socket.destroy();
        return;
      }
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        void this.#answer(line).then((response) => {
          if (!socket.destroyed) socket.write(`${JSON.stringify(response)}\n`);
        });
      }
    });
  }

  async #answer(line: string): Promise<ControlResponse> {
    let request: ControlRequest;
    try {
      request = JSON.parse(line) as ControlRequest;
    } catch (err) {
      return errorResponse(0, err);
    }
    const id = typeof request.id === 'number' ? request.id : 0;
    const handler = typeof request.method === 'string' ? this.#handlers.get(request.method) : undefined;
    if (handler === undefined) {
      return {
        id,
        ok: false,
        error: {
          code: 'ERR_DOTSTUB_CONTROL_METHOD',
          message: `the daemon does not know ${JSON.stringify(request.method)} (is the CLI newer than the daemon?)`,
        },
      };
    }
    try {
      return { id, ok: true, result: await handler(request.params) };
    } catch (err) {
      this.#logger.debug('control request failed', { method: request.method, cause: describeCause(err) });
      return errorResponse(id, err);
    }
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    const server = this.#server;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
  }
}
