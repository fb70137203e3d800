// Runs dotstub's network watcher and route probe where it is started (inside a network namespace the
// test made: `ip netns exec NS node netns-watch.js ADDRESS...`) and prints one JSON line per sample:
// {"kind":"ready"|"change","addresses":[...],"routes":{...}}. Stops when stdin closes.
import { NetworkWatcher, type NetworkSample } from '../../src/desktop/network-watcher.js';
import { probeRoute } from '../../src/desktop/route-probe.js';

const targets = process.argv.slice(2);
const print = (kind: string, sample: NetworkSample): void => {
  process.stdout.write(`${JSON.stringify({ kind, ...sample })}\n`);
};
const watcher = new NetworkWatcher({
  intervalMs: 100,
  debounceMs: 200,
  probeRoutes: async (): Promise<Record<string, boolean>> =>
    Object.fromEntries(
      await Promise.all(targets.map(async (a): Promise<[string, boolean]> => [a, await probeRoute(a)])),
    ),
  onChange: (sample) => {
    print('change', sample);
  },
});
await watcher.start();
print('ready', watcher.current ?? { addresses: [], routes: {} });
// The watcher's timers are unref'd (a daemon never stays up for them): stdin keeps this process alive.
process.stdin.on('end', () => {
  watcher.stop();
  process.exit(0);
});
process.stdin.resume();
