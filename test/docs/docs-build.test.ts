/**
 * The docs site builds with one command in CI: the API reference from the TSDoc (typedoc), then the VitePress
 * site, which fails on a dead link.
 */
import { describe, expect, it } from 'vitest';
import { describeExit, run } from '../examples/processes.js';

describe('the docs site', () => {
  it('builds, API reference included, with no dead links', { timeout: 480_000 }, async () => {
    const exit = await run('pnpm', ['--filter', '@apphook/docs', 'run', 'build'], { timeoutMs: 420_000 });
    expect(exit.code, describeExit('pnpm --filter @apphook/docs run build', exit)).toBe(0);
    expect(exit.output).not.toMatch(/dead link/i);
    // TypeDoc warns about types used by the public API but not exported (ListenStats, DecodedMessage once).
    expect(exit.output).not.toMatch(/\[warning\]/i);
    expect(exit.output).toMatch(/build complete/i);
  });
});
