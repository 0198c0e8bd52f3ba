/**
 * Every example runs in CI: each one's `check` script starts it, changes pages through it, asserts what it
 * serves (or renders), and exits. Run as a user would, `pnpm --filter <example> run check`.
 */
import { describe, expect, it } from 'vitest';
import { describeExit, limiter, run } from './processes.js';

const examples = ['express', 'koa', 'hono', 'fastify', 'nestjs', 'job-worker', 'prometheus'];
// Two at a time: each one compiles its sources with tsx, and the machine has two cores.
const slot = limiter(2);

describe('examples', () => {
  it.concurrent.each(examples)('the %s example passes its check', { timeout: 180_000 }, async (name) => {
    const exit = await slot(() =>
      run('pnpm', ['--filter', `@apphook/example-${name}`, 'run', 'check'], { timeoutMs: 90_000 }),
    );
    expect(exit.code, describeExit(`pnpm --filter @apphook/example-${name} run check`, exit)).toBe(0);
    expect(exit.output).toContain('check passed');
  });
});
