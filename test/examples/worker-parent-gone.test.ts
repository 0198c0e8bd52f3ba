/**
 * A pages-site worker whose parent is gone (the bench or a test exited first, or dropped the IPC channel) closes
 * its site and exits 0 without a word: no ERR_IPC_CHANNEL_CLOSED crash from a message sent after the channel
 * closed, and no orphan left serving when the parent leaves during a slow start.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Scenario } from '../harness/scenario.js';
import { repoRoot, tsxNodeArgs } from './processes.js';

const workerPath = join(repoRoot, 'examples/pages-site/src/worker.ts');
/** Cold tsx starts on a loaded 2-core machine take long: the limit only catches a worker that never exits. */
const HANG_MS = 90_000;

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Forks `file` with an IPC channel and its stderr captured (spawnWorker lets it through to the terminal). */
function forkWithStderr(file: string, args: string[], execArgv: string[], env: NodeJS.ProcessEnv) {
  const child = fork(file, args, {
    execArgv,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal, stderr })),
  );
  return { child, exited };
}

let scenario: Scenario | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await scenario?.close();
  scenario = undefined;
});

async function startWorker() {
  scenario = new Scenario({ db: 'sqlite', channel: 'poll', workers: 1 });
  await scenario.seed();
  const worker = forkWithStderr(workerPath, [], tsxNodeArgs, {
    APPHOOK_SITE: JSON.stringify(scenario.workerConfig('orphan')),
  });
  children.push(worker.child);
  return worker;
}

describe('a pages-site worker whose parent is gone', { timeout: 2 * HANG_MS }, () => {
  it('negative control: a message sent after the channel closed crashes a process with ERR_IPC_CHANNEL_CLOSED', async () => {
    // What worker.ts did before: process.send after the parent left, with nobody handling 'error'.
    const script =
      "process.once('disconnect', () => process.send({ type: 'late' })); setInterval(() => {}, 1000);";
    const naive = forkWithStderr('--eval', [script], [], {});
    children.push(naive.child);
    naive.child.disconnect();
    const exit = await naive.exited;
    expect(exit.code).not.toBe(0);
    expect(exit.stderr).toContain('ERR_IPC_CHANNEL_CLOSED');
  });

  // Before, the worker's 'ready' then failed (EPIPE or ERR_IPC_CHANNEL_CLOSED, exit 1), or it served on.
  it('exits 0 instead of serving on as an orphan when the parent leaves before the site is up', async () => {
    const { child, exited } = await startWorker();
    child.disconnect(); // the worker is still loading its modules: it hears this once it can
    expect(await exited).toEqual({ code: 0, signal: null, stderr: '' });
  });
});
