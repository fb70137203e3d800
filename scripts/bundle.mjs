// Bundles the compiled CLI (dist/src/cli/main.js and everything it imports from dist/src) into
// dist/src/cli/dotstub.mjs plus chunks for what is imported lazily, so a command loads a few files instead
// of about 90 (Node's ESM loader costs about 1 ms per module here: `dotstub query` 305 -> 260 ms).
// npm packages stay external (they load from node_modules, lazily where the code imports them lazily), but
// two are bundled. zod: its 225 modules took about 100 ms to load and 12 MiB of RSS in a daemon started with
// a config file; bundled into the chunk that validates the file, 40 ms and 2 MiB (it is still loaded only
// when a file exists). env-paths: the daemon imports it at every start to find its paths, and resolving a
// package through node_modules and its `exports` cost about 10 ms of the cold start (median of 15
// alternating starts: 202 -> 192 ms on the bench machine). The chunks sit next to main.js, so
// import.meta.url-relative paths (package.json, ./main.js) resolve as in the unbundled build. The package's
// `dotstub` bin runs the bundle; `node dist/src/cli/main.js` still works.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/src/cli');
for (const file of readdirSync(outdir))
  if (/^dotstub(-chunk-[\w-]+)?\.mjs$/.test(file)) rmSync(join(outdir, file));

const BUNDLED = new Set(['zod', 'env-paths']);
const { dependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// A package name also marks its subpaths external (esbuild checks the path prefix).
const external = Object.keys(dependencies).filter((name) => !BUNDLED.has(name));

await build({
  entryPoints: { dotstub: join(outdir, 'main.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'dotstub-chunk-[hash]',
  logLevel: 'warning',
});
