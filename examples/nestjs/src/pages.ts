import { memoryStore } from '@apphook/core';
import { Injectable, Module } from '@nestjs/common';

/** Stands in for the database's token table: a real app passes postgresStore(orm) / sqliteStore(orm). */
export const store = memoryStore();

/** Stands in for the pages table the dynamic routes are built from. */
@Injectable()
export class PagesTable {
  readonly rows = new Map<string, string>([
    ['about', 'About us'],
    ['contact', 'Contact'],
  ]);
}

/**
 * The read side on its own module: `ApphookModule.forRootAsync` injects it to build routes, while the
 * write side (AdminController) injects the reloader. One service doing both would be a dependency cycle.
 */
@Module({ providers: [PagesTable], exports: [PagesTable] })
export class PagesModule {}
