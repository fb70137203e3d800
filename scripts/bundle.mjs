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
//
// Node's builtins are loaded with require, not import. Importing a builtin from ESM builds a facade module
// that reads every export once, which runs the lazy getters of exports we never use: on Node 20 here
// `node:process` took 6.2 ms that way (process.allowedNodeEnvironmentFlags and the like), `node:tls` 4.8 ms
// (tls.rootCertificates copies the bundled roots), `node:util` 1.5 ms; the fifteen builtins the daemon
// imports cost 14 ms of facades on top of 12 ms of loading them. Each static import of a builtin becomes a
// small module that requires it and exports the names that import statement asks for (read from the
// importing file), so only those are read; a form it cannot read (`import * as`), or a name the builtin
// lacks on the Node that builds, fails the build.
import { build } from 'esbuild';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/src/cli');
for (const file of readdirSync(outdir)) if (/^dotstub(-[\w-]+)?\.mjs$/.test(file)) rmSync(join(outdir, file));

const BUNDLED = new Set(['zod', 'env-paths']);
const { dependencies } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
// A package name also marks its subpaths external (esbuild checks the path prefix).
const external = Object.keys(dependencies).filter((name) => !BUNDLED.has(name));

/** The names `import a, { b, c as d } from 'SPEC'` statements in compiled JavaScript take by name (b, c). */
function importedNames(source, specifier) {
  const names = new Set();
  const quoted = specifier.replace(/[/]/g, '\\/');
  const statement = new RegExp(`import\\s+([^'";]*?)\\s+from\\s*['"]${quoted}['"]`, 'g');
  for (const [, clause] of source.matchAll(statement)) {
    if (clause.includes('*')) throw new Error(`bundle: "import * as" of ${specifier} is not supported`);
    const braces = /\{([^}]*)\}/.exec(clause);
    if (braces) {
      for (const part of braces[1].split(',')) {
        const name = part.trim().split(/\s+as\s+/)[0];
        if (name) names.add(name);
      }
    }
  }
  return [...names];
}

const builderRequire = createRequire(import.meta.url);

const builtinsByRequire = {
  name: 'builtins-by-require',
  setup(b) {
    // One createRequire for the whole bundle: each call resolves node_modules paths for its file.
    b.onResolve({ filter: /^dotstub:require$/ }, () => ({ path: 'require', namespace: 'builtin-require' }));
    b.onLoad({ filter: /.*/, namespace: 'builtin-require' }, () => ({
      loader: 'js',
      resolveDir: root,
      contents:
        "import { createRequire } from 'node:module';\nexport default createRequire(import.meta.url);",
    }));
    b.onResolve({ filter: /^(node:)?[a-z0-9_/]+$/ }, (args) => {
      const bare = args.path.replace(/^node:/, '');
      if (args.kind !== 'import-statement' || args.namespace === 'builtin') return undefined;
      if (!builtinModules.includes(bare) || bare === 'module') return undefined;
      return {
        path: `node:${bare}?from=${relative(root, args.importer)}`,
        namespace: 'builtin',
        pluginData: {
          specifier: `node:${bare}`,
          names: importedNames(readFileSync(args.importer, 'utf8'), args.path),
        },
      };
    });
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => {
      const { specifier, names } = args.pluginData;
      // An ESM import of a name the builtin lacks fails to link; a destructured one would be undefined.
      const mod = builderRequire(specifier);
      const missing = names.filter((name) => !(name in mod));
      if (missing.length > 0) throw new Error(`bundle: ${specifier} has no export ${missing.join(', ')}`);
      return {
        loader: 'js',
        resolveDir: root,
        contents: [
          "import require from 'dotstub:require';",
          `const m = require(${JSON.stringify(specifier)});`,
          'export default m;',
          names.length > 0 ? `export const { ${names.join(', ')} } = m;` : '',
        ].join('\n'),
      };
    });
  },
};

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
  plugins: [builtinsByRequire],
};

/** The command modules the dispatcher imports (commands.js: `import('./NAME-command.js')`). */
const commands = new Set();
const COMMAND_MODULE = /^\.\/([a-z]+)-command\.js$/;

await build({
  ...common,
  entryPoints: { dotstub: join(outdir, 'main.js') },
  chunkNames: 'dotstub-main-[hash]',
  plugins: [
    builtinsByRequire,
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
