import { MikroORM as CoreOrm } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { describe, expect, it } from 'vitest';

describe('the MikroORM 6 suites', () => {
  it('load MikroORM 6 for the workspace sources, with one copy of @mikro-orm/core', async () => {
    const { version } = (await import('@mikro-orm/core/package.json', { with: { type: 'json' } })).default;
    expect(version).toMatch(/^6\./);
    expect(Object.getPrototypeOf(MikroORM)).toBe(CoreOrm);
  });
});
