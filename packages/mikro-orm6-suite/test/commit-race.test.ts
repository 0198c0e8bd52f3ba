/**
 * The commit-race scenario and its negative control (test/e2e/commit-race.test.ts) on MikroORM 6: the same
 * test file, with workspace sources resolved to MikroORM 6 here (vitest plugin) and in the worker processes
 * (Node module hook through NODE_OPTIONS, inherited by every worker the scenario forks).
 */
import { vi } from 'vitest';

// Worker processes load MikroORM 6 through the module hook as well as tsx; give slow machines room.
vi.setConfig({ testTimeout: 90_000 });

const register = new URL('../src/register-mikro-orm6.mjs', import.meta.url).href;
process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import=${register}`.trim();

// Not a literal: the e2e harness and the demo site it runs are type-checked with the workspace (MikroORM 7).
const shared = '../../../test/e2e/commit-race.test.ts';
await import(shared);
