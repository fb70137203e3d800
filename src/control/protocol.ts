/**
 * The control channel between the daemon and the CLI: one JSON object per line each way over a local
 * socket (Unix socket, or named pipe on Windows). A request names a method; the answer carries the result
 * or an error with a stable code, so `dotstub status` can say "the daemon is not running" and not "ECONNREFUSED".
 */
export interface ControlRequest {
  readonly id: number;
  readonly method: string;
  readonly params?: unknown;
}

export type ControlResponse =
  | { readonly id: number; readonly ok: true; readonly result: unknown }
  | {
      readonly id: number;
      readonly ok: false;
      readonly error: { readonly code: string; readonly message: string };
    };

/** A method the daemon serves. Params arrive as parsed JSON: a handler checks what it needs. */
export type ControlHandler = (params: unknown) => unknown;

/** A request line longer than this is refused: nothing the CLI sends comes near it. */
export const MAX_REQUEST_BYTES = 64 * 1024;
