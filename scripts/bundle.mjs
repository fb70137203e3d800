// Bundles the compiled CLI (dist/src/cli/main.js and everything it imports from dist/src) so that a command
// loads a few files instead of about 90 (Node's ESM loader costs about 1 ms per module here: `dotstub query`
// 305 -> 260 ms). dist/src/cli/dotstub.mjs is the dispatcher the package's bin runs; each command it loads is
// a bundle of its own, dotstub-<command>.mjs, holding everything the command imports statically, with a
// chunk (dotstub-<command>-<hash>.mjs) for each part the command imports lazily.
//
// One bundle per command, not one code-split build of them all: splitting shares code between commands in
// chunks by the set of commands that use it, and `run` loaded 18 files. As one file (the same code), importing
// the daemon took 40-41 ms instead of 47-52 (Node 20, four alternating runs). Code the commands share is
// repeated in each command's bundle; no process loads two commands, and main.js shares no module with them
// (it tells our errors by their string code, not by class).
//
// npm packages stay external (they load from node_modules, lazily where the code imports them lazily), but
// two are bundled. zod: its 225 modules took about 100 ms to load and 12 MiB of RSS in a daemon started with
// a config file; bundled into the chunk that validates the file, 40 ms and 2 MiB (it is still loaded only
// when a file exists). env-paths: the daemon imports it at every start to find its paths, and resolving a
// package through node_modules and its `exports` cost about 10 ms of the cold start (median of 15
// alternating starts: 202 -> 192 ms on the bench machine). The bundles sit next to main.js, so
// import.meta.url-relative paths (package.json, ./main.js) resolve as in the unbundled build; `node
// dist/src/cli/main.js` still works.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/src/cli');
for (const file of readdirSync(outdir)) if (/^dotstub(-[\w-]+)?\.mjs$/.test(file)) rmSync(join(outdir, file));

const BUNDLED = new Set(['zod', 'env-paths']);
const { dependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// A package name also marks its subpaths external (esbuild checks the path prefix).
const external = Object.keys(dependencies).filter((name) => !BUNDLED.has(name));

const common = {
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
};

/** The command modules the dispatcher imports (commands.js: `import('./NAME-command.js')`). */
const commands = new Set();
const COMMAND_MODULE = /^\.\/([a-z]+)-command\.js$/;

await build({
  ...common,
  entryPoints: { dotstub: join(outdir, 'main.js') },
  chunkNames: 'dotstub-main-[hash]',
  plugins: [
    {
      name: 'command-bundles',
      setup(b) {
        b.onResolve({ filter: COMMAND_MODULE }, (args) => {
          if (!args.importer.endsWith(join('cli', 'commands.js'))) return undefined;
          const name = COMMAND_MODULE.exec(args.path)[1];
          commands.add(name);
          return { path: `./dotstub-${name}.mjs`, external: true };
        });
      },
    },
  ],
});
if (commands.size === 0) throw new Error('bundle: found no command modules in commands.js');

await Promise.all(
  [...commands].map((name) =>
    build({
      ...common,
      entryPoints: { [`dotstub-${name}`]: join(outdir, `${name}-command.js`) },
      chunkNames: `dotstub-${name}-[hash]`,
    }),
  ),
);
