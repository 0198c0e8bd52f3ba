import type { ApphookBuild } from '@apphook/apphooks';
import type { Binding } from '@apphook/core';
import type { blog } from './blog-app.js';
import type { Page } from './pages.js';
import type { BuildInfo } from './site.js';
import type { PageChange, WriteResult } from './writer.js';

/** What a build reads: the pages of one snapshot, and what is reported about it. */
export interface Snapshot {
  pages: Page[];
  info: BuildInfo;
  /** The apphooks of this version (the demo's blog), when the site serves them. */
  apphooks?: ApphookBuild<readonly [typeof blog]>;
}

/** The framework-neutral part of the site that each HTTP front end serves. */
export interface SiteApi {
  name: string;
  /** Builds the snapshot of `version` (throws for injected faults). */
  snapshot(version: number): Promise<Snapshot>;
  status(): unknown;
  pages(): Promise<Page[]>;
  workers(): unknown;
  change(change: PageChange): Promise<WriteResult>;
  adminHtml(): string;
}

/** One framework's server: the binding to give the reloader, and how to listen. */
export interface Frontend {
  binding: Binding<unknown>;
  listen(port: number, host: string): Promise<{ port: number; close(): Promise<void> }>;
}

/** A page of one build; `pages` (the same build's) make the menu, so a newcomer can click through the site. */
export function renderPage(page: Page, info: BuildInfo, worker: string, pages: readonly Page[] = []): string {
  const links = [...pages]
    .sort((a, b) => a.path.localeCompare(b.path))
    .map((p) => `<a href="${escapeHtml(p.path)}">${escapeHtml(p.title)}</a>`);
  const nav = `<nav>${[...links, '<a href="/admin">admin</a>'].join(' · ')}</nav>`;
  return `<!doctype html><title>${escapeHtml(page.title)}</title>${nav}<h1>${escapeHtml(page.title)}</h1>${page.body}<footer>${escapeHtml(worker)} · version ${info.version}</footer>`;
}

/** Headers every dynamic response carries, so the end-to-end harness can check each one against its build. */
export function buildHeaders(info: BuildInfo): Record<string, string> {
  return { 'X-Apphook-Version': String(info.version), 'X-Route-Hash': info.hash };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
