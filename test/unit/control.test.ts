import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { callDaemon } from '../../src/cli/control-client.js';
import { ControlServer } from '../../src/server/control-server.js';
import { createLogger } from '../../src/util/logger.js';

const logger = createLogger({ level: 'error', write: () => undefined });
const socketPath = (): string => join(mkdtempSync(join(tmpdir(), 'dotstub-ctl-')), 'run', 'control.sock');

describe('control channel', () => {
  it('answers a registered method and names an unknown one', async () => {
    const path = socketPath();
    const server = await ControlServer.listen(path, logger);
    try {
      server.handle('echo', (params) => ({ got: params }));
      assert.deepEqual(await callDaemon('echo', { a: 1 }, { path }), { got: { a: 1 } });
      await assert.rejects(callDaemon('nope', undefined, { path }), { code: 'ERR_DOTSTUB_CONTROL_METHOD' });
    } finally {
      await server.close();
    }
  });

  it('passes a handler error on with its code', async () => {
    const path = socketPath();
    const server = await ControlServer.listen(path, logger);
    try {
      server.handle('fail', () => {
        throw Object.assign(new Error('bad thing'), { code: 'ERR_TEST' });
      });
      await assert.rejects(callDaemon('fail', undefined, { path }), {
        code: 'ERR_TEST',
        message: 'bad thing',
      });
    } finally {
      await server.close();
    }
  });

  it('is open to owner and group only', async () => {
    const path = socketPath();
    const server = await ControlServer.listen(path, logger);
    try {
      assert.equal(statSync(path).mode & 0o777, 0o660);
    } finally {
      await server.close();
    }
  });

  it('refuses to take a socket another daemon is serving, and replaces a stale one', async () => {
    const path = socketPath();
    const first = await ControlServer.listen(path, logger);
    await assert.rejects(ControlServer.listen(path, logger), {
      code: 'ERR_DOTSTUB_LISTEN',
      message: /another dotstub/,
    });
    await first.close();
    // A crashed daemon leaves its socket file behind: a process killed while listening makes one.
    spawnSync(process.execPath, [
      '-e',
      `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    assert.ok(statSync(path).isSocket());
    const second = await ControlServer.listen(path, logger);
    second.handle('ping', () => 'pong');
    assert.equal(await callDaemon('ping', undefined, { path }), 'pong');
    await second.close();
  });

  it('says the daemon is not running when nothing listens', async () => {
    await assert.rejects(callDaemon('ping', undefined, { path: socketPath() }), {
      code: 'ERR_DOTSTUB_CONTROL_UNREACHABLE',
      message: /not running/,
    });
  });
});
