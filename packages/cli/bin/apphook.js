#!/usr/bin/env node
// The `apphook` command. `bin` points at this committed file rather than into dist/: package managers link bins
// at install time, and in a fresh clone of the repository dist/ is not built yet (it is built for publishing only).
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/bin.js', import.meta.url);
try {
  await import(entry.href);
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(fileURLToPath(entry)))
    throw error;
  console.error(
    `[apphook/cli] ${fileURLToPath(entry)} is not built: run \`pnpm build\` in the apphook repository, or run the source: \`node --import tsx --conditions=@apphook/source packages/cli/src/bin.ts\``,
  );
  process.exitCode = 1;
}
