import type { ApphookError, Logger } from '@apphook/core';
import { describe, expect, it } from 'vitest';
import type { SuiteContext } from './store-suite-context.js';

/** The mistakes users make with a store, each caught with a message that says what to do (G11). */
export function storeSuiteMistakes(c: SuiteContext): void {
  const recorder = () => {
    const warnings: string[] = [];
    const logger: Logger = { warn: (message) => warnings.push(message), error() {} };
    return { warnings, logger };
  };

  describe('mistakes', () => {
    it('warns at creation, naming the entity to add, when no ORM entity maps to the token table', async () => {
      const tableName = `${c.options.prefix}_unregistered`;
      const { warnings, logger } = recorder();
      const store = c.options.createStore(c.orm, { tableName, logger });
      try {
        expect(warnings).toHaveLength(1);
        expect(warnings[0]).toContain(`"${tableName}"`);
        expect(warnings[0]).toContain(
          `add defineApphookToken({ tableName: '${tableName}' }) to \`entities\``,
        );
        expect(warnings[0]).toContain('orm.schema.update()');
        const warning = (store as unknown as { entityWarning?: ApphookError }).entityWarning;
        expect(warning?.code).toBe('E_SCHEMA');
        // Why it matters: the table ensureSchema() made is one the schema generator would drop.
        await store.ensureSchema();
        const diff = await c.orm.schema.getUpdateSchemaSQL({ wrap: false });
        expect(diff).toMatch(new RegExp(`drop table[^;]*${tableName}`, 'i'));
      } finally {
        const quoted = c.orm.em.getPlatform().quoteIdentifier(tableName);
        await c.orm.em.getConnection().execute(`drop table if exists ${quoted}`, [], 'run');
        await store.close();
      }
    });

    it('does not warn when the token entity is among the ORM entities', async () => {
      const { warnings, logger } = recorder();
      const store = c.options.createStore(c.orm, { tableName: c.tableName, logger });
      expect(warnings).toEqual([]);
      expect((store as unknown as { entityWarning?: ApphookError }).entityWarning).toBeUndefined();
      await store.close();
    });
  });
}
