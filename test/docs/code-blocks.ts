/**
 * Finds the ```ts blocks of markdown files and type-checks them, each block a module of its own, against the
 * workspace's packages and one shared prelude (test/docs/prelude.d.ts): the names a page assumes from Getting
 * started (`orm`, `Page`, `store`, `reloader`, `binding`, `app`, ...) typed with the real apphook, MikroORM and
 * framework types, so a wrong API name, option name or argument type in a block fails.
 *
 * A page whose blocks build on each other names a block by its first line, `// apphooks.ts: ...`; later blocks
 * of that page import it (`import { blog } from './apphooks.js'`), as the reader's own files would.
 *
 * A block that cannot be checked (a sketch) says why in an HTML comment on the line before its fence, invisible
 * to readers: `<!-- docs-check: skip: <reason> -->`. The test keeps an allow-list of those.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const root = fileURLToPath(new URL('../..', import.meta.url));
const prelude = fileURLToPath(new URL('./prelude.d.ts', import.meta.url));

export interface Block {
  /** `docs/x.md`, relative to the repository (absolute outside it). */
  file: string;
  /** Line of the block's first code line in the markdown file. */
  line: number;
  code: string;
  /** Why the block is not checked, from its `<!-- docs-check: skip: ... -->` comment. */
  skip?: string;
}

/** The markdown files whose blocks are checked: docs/ (not generated API pages), README.md, packages' READMEs. */
export function markdownFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      if (name === 'node_modules' || name.startsWith('.') || name === 'api') return [];
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return walk(path);
      return name.endsWith('.md') ? [path] : [];
    });
  const readmes = readdirSync(join(root, 'packages'))
    .map((dir) => join(root, 'packages', dir, 'README.md'))
    .filter((path) => statSync(path, { throwIfNoEntry: false }));
  return [...walk(join(root, 'docs')), join(root, 'README.md'), ...readmes];
}

export function codeBlocks(paths: string[]): Block[] {
  const blocks: Block[] = [];
  for (const path of paths) {
    const text = readFileSync(path, 'utf8');
    const file = relative(root, path).startsWith('..') ? path : relative(root, path);
    for (const match of text.matchAll(/^```(?:ts|typescript)\b[^\n]*\n([\s\S]*?)^```/gm)) {
      const before = text.slice(0, match.index).split('\n');
      const skip = /^<!-- docs-check: skip: (.+?) -->$/.exec(before.at(-2) ?? '')?.[1];
      blocks.push({ file, line: before.length + 1, code: match[1] ?? '', ...(skip ? { skip } : {}) });
    }
  }
  return blocks;
}

/**
 * Type-checks `blocks` (one module each, written to `out`, which must lie inside the repository so the
 * workspace's packages resolve) and returns tsc's errors, each pointed at `file:line` of its markdown.
 */
export async function typeCheck(blocks: Block[], out: string): Promise<string[]> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const names = new Map<string, Block>();
  for (const block of blocks) {
    // One folder per markdown file, one module per block: its own top-level names (which shadow the
    // prelude's), top-level await allowed, and the name its first line gives, for the page's later blocks.
    const folder = (isAbsolute(block.file) ? basename(block.file) : block.file).replace(/[/.]/g, '-');
    const name = `${folder}/${/^\/\/ ([\w.-]+\.ts)\b/.exec(block.code)?.[1] ?? `block-${block.line}.ts`}`;
    if (names.has(name)) throw new Error(`${block.file}:${block.line}: a second block named ${name}`);
    names.set(name, block);
    mkdirSync(join(out, folder), { recursive: true });
    writeFileSync(join(out, name), `${block.code}\nexport {};\n`);
  }
  writeFileSync(
    join(out, 'tsconfig.json'),
    JSON.stringify({
      extends: relative(out, join(root, 'tsconfig.base.json')),
      compilerOptions: { noEmit: true, noUnusedLocals: false, types: ['node'] },
      include: ['*/*.ts', relative(out, prelude)],
    }),
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const output = await promisify(execFile)(process.execPath, [tsc, '-p', out, '--pretty', 'false'], {
    cwd: root,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    ({ stdout }) => stdout,
    (error: { stdout?: string; message: string }) => error.stdout || error.message,
  );
  return output
    .split('\n')
    .filter((line) => /error TS\d+/.test(line))
    .map((line) =>
      line.replace(/^([^(]+)\((\d+),(\d+)\)/, (whole, path: string, l: string) => {
        const block = names.get(path.split('/').slice(-2).join('/'));
        return block ? `${block.file}:${block.line + Number(l) - 1}` : whole;
      }),
    );
}
