// Type-aware lint (typescript-eslint strictTypeChecked) plus the shape rules of ../shared/design.md §18.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'scripts/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'max-lines': ['error', { max: 300, skipBlankLines: true, skipComments: true }],
      'max-depth': ['error', 3],
      complexity: ['error', 15],
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      // node:test's describe/it return promises the runner itself awaits.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportDefaultDeclaration', message: 'Use named exports.' },
      ],
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/main.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'exit', message: 'Only src/cli/main.ts exits the process.' },
      ],
      // These globals are accessors on globalThis in Node: every use is a generic global load and a getter
      // call (35-100 ns for Buffer), where an imported binding is a constant.
      'no-restricted-globals': [
        'error',
        ...[
          ['Buffer', 'node:buffer'],
          ['performance', 'node:perf_hooks'],
          ['TextEncoder', 'node:util'],
          ['TextDecoder', 'node:util'],
        ].map(([name, from]) => ({ name, message: `import it from '${from}' (the global is a getter).` })),
      ],
    },
  },
  // Layering: dns <- upstream <- resolver <- desktop, cache <- server <- cli. A lower layer never imports a higher one.
  ...[
    ['control', ['dns', 'upstream', 'resolver', 'cache', 'desktop', 'server', 'cli', 'config']],
    ['dns', ['upstream', 'resolver', 'cache', 'desktop', 'server', 'cli', 'config']],
    ['upstream', ['resolver', 'cache', 'desktop', 'server', 'cli', 'config']],
    ['resolver', ['cache', 'desktop', 'server', 'cli']],
    ['cache', ['desktop', 'server', 'cli', 'config']],
    // Desktop life (sleep, network changes, split DNS, portal) sits beside the resolver, below the server.
    ['desktop', ['cache', 'server', 'cli', 'config']],
    ['server', ['cli']],
    // Service files and OS resolver settings as plans: config, util and errors below it, never the daemon or the CLI.
    ['system', ['upstream', 'resolver', 'server', 'cli', 'control']],
  ].map(([layer, above]) => ({
    files: [`src/${layer}/**/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: above.map((a) => ({
            group: [`../${a}/*`, `../../${a}/*`],
            message: `src/${layer} may not import src/${a}`,
          })),
        },
      ],
    },
  })),
  {
    files: ['test/**/*.ts'],
    rules: {
      'max-lines': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      complexity: 'off',
    },
  },
);
