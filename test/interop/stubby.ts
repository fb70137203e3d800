// stubby (getdns) in the daemon's place: `INTEROP_DAEMON=stubby npm run test:interop` runs the same scenarios
// against the reference stub resolver, to tell a harness problem from a dotstub problem.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, peerPath, withFreePort } from './peers.js';
import { ManagedProcess, type ProcessExit } from './processes.js';
import { AUTH_NAME, type UnboundServer } from './unbound.js';
import type { DotstubDaemon, DotstubOptions } from './dotstub.js';

function stubbyConf(port: number, upstream: UnboundServer, options: DotstubOptions): string {
  return [
    'resolution_type: GETDNS_RESOLUTION_STUB',
    'dns_transport_list:',
    '  - GETDNS_TRANSPORT_TLS',
    'tls_authentication: GETDNS_AUTHENTICATION_REQUIRED',
    'tls_query_padding_blocksize: 128',
    'idle_timeout: 10000',
    'round_robin_upstreams: 0',
    'listen_addresses:',
    `  - 127.0.0.1@${port}`,
    ...(options.caFile === false ? [] : [`tls_ca_file: "${upstream.caFile}"`]),
    'upstream_recursive_servers:',
    '  - address_data: 127.0.0.1',
    `    tls_port: ${upstream.port}`,
    ...(options.authName === false ? [] : [`    tls_auth_name: "${AUTH_NAME}"`]),
    '    tls_pubkey_pinset:',
    '      - digest: "sha256"',
    `        value: ${options.pin ?? upstream.pin}`,
    '',
  ].join('\n');
}

export async function startStubby(
  upstream: UnboundServer,
  options: DotstubOptions = {},
): Promise<DotstubDaemon> {
  const temp = makeTempDir('stubby');
  const confFile = join(temp.dir, 'stubby.yml');
  try {
    return await withFreePort(async (port) => {
      writeFileSync(confFile, stubbyConf(port, upstream, options));
      const args = ['-C', confFile, '-v', '6'];
      const proc = await ManagedProcess.start('stubby', peerPath('stubby'), args, { cwd: temp.dir });
      try {
        await proc.waitForLine(/Starting DAEMON/, 10_000);
      } catch (err) {
        await proc.stop();
        throw err;
      }
      const stop = async (): Promise<ProcessExit> => {
        try {
          return await proc.stop(10_000);
        } finally {
          temp.remove();
        }
      };
      return { port, args, process: proc, stop };
    });
  } catch (err) {
    temp.remove();
    throw err;
  }
}
