/**
 * The Postgres store's NOTIFY coalescing tests (packages/postgresql/test/notify-coalescing.test.ts) on
 * MikroORM 6, whose savepoints send no transaction events and whose SQL layer is knex: the same file, with
 * its own table and channel names (they carry the MikroORM major version).
 */
await import('../../postgresql/test/notify-coalescing.test.ts');
