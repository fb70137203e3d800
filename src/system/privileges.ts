/**
 * Started as root to bind port 53 (no CAP_NET_BIND_SERVICE from a service manager, as under launchd or a plain
 * `sudo dotstub run`), the daemon gives root up once its sockets are bound: it becomes an unprivileged account
 * (groups, then group, then user: in the other order the process could no longer change its groups). What it must
 * still write (the control socket's directory, the data directory) is handed to that account first.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { SystemChangeError } from '../errors.js';

export interface Account {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

/** macOS lists nobody as uid -2: the kernel's id is that number as an unsigned 32-bit value. */
const id32 = (text: string): number => Number(text) >>> 0;

export function lookupAccount(name: string, passwd = readPasswd()): Account | undefined {
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined)
      return { name, uid: id32(uid), gid: id32(gid) };
  }
  return undefined;
}

/** Accounts only the directory service knows (macOS keeps most outside /etc/passwd): ask `id`. */
function lookupWithId(name: string): Account | undefined {
  try {
    const id = (flag: string): number =>
      id32(
        execFileSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(),
      );
    return { name, uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

function readPasswd(): string {
  try {
    return readFileSync('/etc/passwd', 'utf8');
  } catch {
    return '';
  }
}

/**
 * Which account to become, or undefined to stay. `--user root` keeps root; an explicit `--user` is always obeyed;
 * otherwise root drops only when it bound a privileged port (< 1024), the reason it needed root.
 */
export function dropTarget(
  requested: string | undefined,
  ports: readonly number[],
  uid: number | undefined,
  /** /etc/passwd's text, for tests; by default the file, then `id` for accounts it does not list. */
  passwd?: string,
): Account | undefined {
  if (uid !== 0 || requested === 'root') return undefined;
  if (requested === undefined && !ports.some((p) => p < 1024)) return undefined;
  const find = (n: string): Account | undefined =>
    passwd === undefined ? (lookupAccount(n) ?? lookupWithId(n)) : lookupAccount(n, passwd);
  const name = requested ?? (find('dotstub') !== undefined ? 'dotstub' : 'nobody');
  const account = find(name);
  if (account === undefined)
    throw new SystemChangeError(
      `--user ${name}: no such account (create it, e.g. \`useradd --system dotstub\`, or name another)`,
    );
  return account;
}

/** Hands `paths` (created when missing) to the account, then switches to it for good. */
export function dropPrivileges(account: Account, paths: readonly string[]): void {
  for (const path of paths) {
    if (!existsSync(path)) mkdirSync(path, { recursive: true, mode: 0o750 });
    chownSync(path, account.uid, account.gid);
  }
  try {
    process.setgroups?.([account.gid]);
    process.setgid?.(account.gid);
    process.setuid?.(account.uid);
  } catch (err) {
    throw new SystemChangeError(`could not become ${account.name}: ${(err as Error).message}`, err);
  }
  if (process.getuid?.() !== account.uid)
    throw new SystemChangeError(
      `still running as uid ${String(process.getuid?.())} after switching to ${account.name}`,
    );
}
