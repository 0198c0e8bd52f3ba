import { defineConfig } from 'vitest/config';

// Tests resolve workspace packages to their TypeScript source through the
// `@apphook/source` export condition: `pnpm test` needs no build step.
export default defineConfig({
  resolve: { conditions: ['@apphook/source', 'module', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['@apphook/source', 'module', 'node', 'import', 'default'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
