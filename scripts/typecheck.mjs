#!/usr/bin/env node
// `pnpm typecheck`: the workspace against MikroORM 7 and the MikroORM 6 suite against MikroORM 6, both tsc runs
// at once (each is one busy core for most of its run; on a 2-core CI machine in turn they take twice as long).
// Each run's output is printed whole, in order; the exit code is the first failing run's.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const runs = [
  ['-p', 'tsconfig.json', '--noEmit'],
  ['-p', 'packages/mikro-orm6-suite/tsconfig.json'],
];

const results = await Promise.all(
  runs.map(
    (args) =>
      new Promise((resolve) => {
        const child = spawn(process.execPath, [tsc, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
        let output = '';
        child.stdout.on('data', (chunk) => (output += chunk));
        child.stderr.on('data', (chunk) => (output += chunk));
        child.on('close', (code, signal) => resolve({ args, output, code: code ?? (signal ? 1 : 0) }));
      }),
  ),
);
for (const { args, output, code } of results) {
  if (output) process.stdout.write(output);
  if (code !== 0) console.error(`tsc ${args.join(' ')} failed (exit ${code})`);
}
process.exit(results.find((r) => r.code !== 0)?.code ?? 0);
