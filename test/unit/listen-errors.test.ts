import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { listenError } from '../../src/server/listen-errors.js';

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(code), { code });

describe('listen errors say how to fix them', () => {
  it('names the capability, the service and another port when privilege is missing', () => {
    const err = listenError(errno('EACCES'), 'udp', '127.0.0.1', 53);
    assert.equal(err.code, 'ERR_DOTSTUB_LISTEN');
    assert.match(err.message, /^cannot listen on udp 127\.0\.0\.1:53: ports below 1024 need privilege/);
    assert.match(err.message, /setcap cap_net_bind_service=\+ep/);
    assert.match(err.message, /dotstub service install/);
    assert.match(err.message, /--listen 127\.0\.0\.1@5353/);
  });

  it('says who may hold a port in use', () => {
    assert.match(
      listenError(errno('EADDRINUSE'), 'tcp', '::1', 53).message,
      /^cannot listen on tcp \[::1\]:53: another program holds it/,
    );
  });

  it('makes `dotstub run` exit 71 with that message when the port is taken', async () => {
    const holder = createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const port = (holder.address() as { port: number }).port;
    const result = spawnSync(
      process.execPath,
      [
        'dist/src/cli/main.js',
        'run',
        '--listen',
        `127.0.0.1@${port}`,
        '--upstream',
        '127.0.0.1#853~dot.test',
      ],
      { encoding: 'utf8', timeout: 10_000 },
    );
    holder.close();
    // UDP may bind; TCP finds the port taken.
    assert.equal(result.status, 71);
    assert.match(result.stderr, /another program holds it/);
  });

  it('makes `dotstub run` exit 78 naming the field for a bad option', () => {
    const result = spawnSync(
      process.execPath,
      ['dist/src/cli/main.js', 'run', '--upstream', '127.0.0.1#853'],
      { encoding: 'utf8', timeout: 10_000 },
    );
    assert.equal(result.status, 78);
    assert.match(result.stderr, /upstreams\[0\]: 127\.0\.0\.1 has neither an authentication name nor a pin/);
  });
});
