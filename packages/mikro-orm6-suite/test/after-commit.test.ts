/**
 * The afterCommit unit tests (packages/mikro-orm/test/after-commit.test.ts) on MikroORM 6, whose savepoints
 * send no transaction events: the same file, on @mikro-orm/better-sqlite in memory.
 */
await import('../../mikro-orm/test/after-commit.test.ts');
