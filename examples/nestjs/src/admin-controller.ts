import type { MemoryTransaction, Reloader } from '@apphook/core';
import { InjectReloader } from '@apphook/nestjs';
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { PagesTable, store } from './pages.js';

/** Static routes: Nest controllers always win over dynamic routes and are never touched by a swap. */
@Controller()
export class AdminController {
  // Explicit tokens: tsx (esbuild) does not emit decorator metadata.
  constructor(
    @InjectReloader() private readonly reloader: Reloader<unknown, MemoryTransaction>,
    @Inject(PagesTable) private readonly pages: PagesTable,
  ) {}

  @Get('health')
  health() {
    return { ok: true, version: this.reloader.version };
  }

  @Post('admin/pages')
  async create(@Body() body: { slug?: string; title?: string }) {
    const { slug, title } = body ?? {};
    if (!slug || !/^[a-z0-9-]+$/.test(slug) || !title) {
      return { error: 'send { "slug": "a-z0-9-", "title": "..." }' };
    }
    return { slug, version: await this.write(() => this.pages.rows.set(slug, title)) };
  }

  @Delete('admin/pages/:slug')
  @HttpCode(204)
  async remove(@Param('slug') slug: string): Promise<void> {
    await this.write(() => this.pages.rows.delete(slug));
  }

  /** Writes the rows and bumps the version in one transaction; this process serves the change once it resolves. */
  private write(change: () => void): Promise<number> {
    return store.transaction(async (tx) => {
      change();
      return this.reloader.markChanged(tx);
    });
  }
}
