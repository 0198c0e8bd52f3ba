import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import { anchorPath, mikroOrm6Specifier } from './packages/mikro-orm6-suite/src/mikro-orm6-resolve.mjs';
import { SlowFirstSequencer } from './vitest.sequencer.js';

// Tests resolve workspace packages to their TypeScript source through the
// `@apphook/source` export condition: `pnpm test` needs no build step. No 'import' here: Vite adds
// import/require per import kind, and a forced 'import' makes CommonJS dependencies require() ESM builds
// (Express 5's router then gets is-promise's ESM namespace instead of the function).
const conditions = ['@apphook/source', 'module', 'node', 'development|production'];

// The MikroORM 6 suites: the same workspace sources, with their `@mikro-orm/*` imports resolved to that
// package's own MikroORM 6 (the workspace default is 7).
const mikroOrm6Tests = 'packages/mikro-orm6-suite/test/**/*.test.ts';

// Test files in parallel: two more than the cores. Most of a file's time is spent waiting on servers, child
// processes, package installs and timers, not on this process's CPU, so vitest's default (cores - 1, one file at
// a time on a 2-core CI machine) leaves the machine mostly idle. Files are built to run side by side: each has its
// own tables, scopes, channels, temporary folders and ports. APPHOOK_TEST_WORKERS overrides it (1 = one at a time).
const maxWorkers = Number(process.env.APPHOOK_TEST_WORKERS) || availableParallelism() + 2;

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // expect.poll waits for a state that comes; its limit only catches a hang. Vitest's default (1 s) is shorter
    // than one step of a loaded 2-core machine running files side by side (a browser click, a worker's build).
    expect: { poll: { timeout: 20_000 } },
    pool: 'forks',
    maxWorkers,
    sequence: { sequencer: SlowFirstSequencer },
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'mikro-orm 7',
          include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
          exclude: ['**/node_modules/**', mikroOrm6Tests],
        },
      },
      {
        extends: true,
        plugins: [
          {
            name: 'apphook:mikro-orm6',
            enforce: 'pre',
            async resolveId(source, importer, options) {
              const redirected = mikroOrm6Specifier(source, importer);
              if (!redirected) return null;
              return this.resolve(redirected, anchorPath, { ...options, skipSelf: true });
            },
          },
        ],
        test: { name: 'mikro-orm 6', include: [mikroOrm6Tests] },
      },
    ],
  },
});
