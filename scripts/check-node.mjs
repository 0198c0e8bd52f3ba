#!/usr/bin/env node
// Stops `pnpm install`, `pnpm demo` and `pnpm test` at once, with what to do, when the Node running them is
// older than the workspace needs: on Node 20, better-sqlite3 13 and MikroORM 7 crash (a segmentation fault)
// instead of saying why. Plain JavaScript that any Node can parse; the required version is root engines.node.
import { readFileSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const range = manifest.engines.node; // ">=22.17.0"
const required = range
  .replace(/^>=\s*/, '')
  .split('.')
  .map(Number);
const current = process.versions.node.split('.').map(Number);
const older = (a, b) => {
  for (let i = 0; i < 3; i++) if ((a[i] || 0) !== (b[i] || 0)) return (a[i] || 0) < (b[i] || 0);
  return false;
};

if (older(current, required)) {
  process.stderr.write(
    [
      '',
      `apphook needs Node ${range}; this is Node ${process.version} (${process.execPath}).`,
      'Get Node 24 and pnpm 10 with npm alone, into .tools/ (git-ignored, about 10 s), then put them first on PATH:',
      '',
      '  npm install --prefix .tools node@24 pnpm@10',
      '  export PATH="$PWD/.tools/node_modules/.bin:$PATH"',
      '',
      'and run the command again. (nvm, fnm, volta or https://nodejs.org work too.)',
      '',
    ].join('\n'),
  );
  process.exit(1);
}
