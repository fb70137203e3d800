/**
 * The CLI's end of the control channel: one request, one answer. Which daemon: --control PATH, then
 * $DOTSTUB_CONTROL, then the user's own daemon if its socket exists, then the system service's.
 */
import { existsSync } from 'node:fs';
import { createConnection } from 'node:net';
import { controlSocketPath } from '../config/paths.js';
import type { ControlResponse } from '../control/protocol.js';
import { DotstubError } from '../errors.js';

export class ControlError extends DotstubError {}

export function resolveControlPath(explicit?: string): string {
  if (explicit !== undefined) return explicit;
  const fromEnv = process.env.DOTSTUB_CONTROL;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const user = controlSocketPath('user');
  return existsSync(user) ? user : controlSocketPath('system');
}

function unreachable(path: string, err: NodeJS.ErrnoException): ControlError {
  const why =
    err.code === 'ENOENT' || err.code === 'ECONNREFUSED'
      ? 'the daemon is not running (start it with `dotstub run`, or `dotstub service start`)'
      : err.code === 'EACCES'
        ? 'permission denied: the socket is open to its owner and the admin group only (use sudo, or join the group)'
        : err.message;
  return new ControlError('ERR_DOTSTUB_CONTROL_UNREACHABLE', `cannot reach the daemon at ${path}: ${why}`, {
    cause: err,
  });
}

/** Sends one request and resolves with its result, or rejects with the daemon's error code and message. */
export function callDaemon(
  method: string,
  params?: unknown,
  options: { path?: string; timeoutMs?: number } = {},
): Promise<unknown> {
  const path = resolveControlPath(options.path);
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new ControlError(
          'ERR_DOTSTUB_CONTROL_TIMEOUT',
          `the daemon at ${path} did not answer ${method} in time`,
        ),
      );
    }, options.timeoutMs ?? 5000);
    socket.setEncoding('utf8');
    socket.once('connect', () => socket.write(`${JSON.stringify({ id: 1, method, params })}\n`));
    socket.on('data', (chunk: string) => {
      received += chunk;
      const nl = received.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      socket.end();
      const response = JSON.parse(received.slice(0, nl)) as ControlResponse;
      if (response.ok) resolve(response.result);
      else reject(new ControlError(response.error.code, response.error.message));
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(unreachable(path, err));
    });
  });
}
