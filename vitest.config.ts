import { defineConfig } from 'vitest/config';

// Tests resolve workspace packages to their TypeScript source through the
// `@apphook/source` export condition: `pnpm test` needs no build step. No 'import' here: Vite adds
// import/require per import kind, and a forced 'import' makes CommonJS dependencies require() ESM builds
// (Express 5's router then gets is-promise's ESM namespace instead of the function).
const conditions = ['@apphook/source', 'module', 'node', 'development|production'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
