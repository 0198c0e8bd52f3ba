/**
 * Runs the commands a newcomer types (`pnpm demo`, an example's `check`) as child processes, each in its own
 * process group so a timeout or Ctrl-C reaches every process it started (pnpm, the shell, Node, the workers).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** `node` arguments that run a TypeScript file the way the workspace scripts do (tsx, sources of workspace packages). */
export const tsxNodeArgs = [
  '--import',
  pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href,
  '--conditions=@apphook/source',
];

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** stdout and stderr, interleaved as they arrived. */
  output: string;
  timedOut: boolean;
}

export interface Started {
  readonly child: ChildProcess;
  output(): string;
  /** Resolves once the output matches, rejects when the process exits first or after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  /** What a terminal's Ctrl-C does: SIGINT to the whole process group. */
  interrupt(): void;
  readonly exited: Promise<Exit>;
}

export interface StartOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The whole group is killed after this long and the exit says `timedOut`. */
  timeoutMs: number;
}

export function start(command: string, args: readonly string[], options: StartOptions): Started {
  const child = spawn(command, args, {
    cwd: options.cwd ?? repoRoot,
    env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.once('error', (error) => append(Buffer.from(`\n${command}: ${error.message}\n`)));
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // the group is gone already
    }
  };
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    signalGroup('SIGKILL');
  }, options.timeoutMs);
  const exited = new Promise<Exit>((resolve) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      // Whatever the command left behind (a worker whose parent died) goes with it.
      signalGroup('SIGKILL');
      resolve({ code, signal, output, timedOut });
    });
  });
  return {
    child,
    output: () => output,
    exited,
    interrupt: () => signalGroup('SIGINT'),
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const done = (error?: Error, match?: RegExpMatchArray) => {
          clearTimeout(waitTimer);
          listeners.delete(check);
          if (match) resolve(match);
          else reject(error);
        };
        const check = () => {
          const match = output.match(pattern);
          if (match) done(undefined, match);
        };
        const waitTimer = setTimeout(
          () => done(new Error(`no output matching ${pattern} within ${timeoutMs} ms:\n${output}`)),
          timeoutMs,
        );
        listeners.add(check);
        check();
        void exited.then((exit) =>
          done(new Error(`exited (code ${exit.code}, signal ${exit.signal}) before ${pattern}:\n${output}`)),
        );
      });
    },
  };
}

/** Runs a command to its end. */
export function run(command: string, args: readonly string[], options: StartOptions): Promise<Exit> {
  return start(command, args, options).exited;
}

/** A failure message that shows what the command printed. */
export function describeExit(label: string, exit: Exit): string {
  const how = exit.timedOut
    ? 'timed out'
    : `exited with code ${exit.code}${exit.signal ? ` (${exit.signal})` : ''}`;
  return `${label} ${how}; its output:\n${exit.output}`;
}

/** Runs `tasks` with at most `limit` at a time (the CI machine has 2 cores). */
export function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  return async (task) => {
    if (active >= limit) await new Promise<void>((resolve) => queue.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}
