import { defineApphookToken } from '@apphook/postgresql';
import { EntitySchema } from '@mikro-orm/core';

export const settings = JSON.parse(process.env.APPHOOK_CONSUMER ?? '{}');
settings.pageEntity = new EntitySchema({
  name: 'ConsumerPage',
  tableName: settings.pageTable,
  properties: {
    id: { type: 'number', primary: true, autoincrement: true },
    title: { type: 'string', length: 191 },
  },
});
export const entities = [settings.pageEntity, defineApphookToken({ tableName: settings.tokenTable })];
