/**
 * Every ```ts block in docs/ compiles against the workspace's packages, so the docs cannot rot. Each block is a
 * module of its own (written to docs/.code-blocks/, git-ignored) and must define what it uses. A block that is
 * only a fragment says so on its first line, visibly to readers: `// fragment: ...`; it is not checked.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const docs = join(root, 'docs');
const out = join(docs, '.code-blocks');

interface Block {
  /** `docs/x.md` */
  file: string;
  /** Line of the block's first code line in the markdown file. */
  line: number;
  code: string;
}

function markdownFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (name === 'node_modules' || name.startsWith('.') || name === 'api') return [];
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return markdownFiles(path);
    return name.endsWith('.md') ? [path] : [];
  });
}

export function codeBlocks(): { checked: Block[]; fragments: Block[] } {
  const checked: Block[] = [];
  const fragments: Block[] = [];
  for (const path of markdownFiles(docs)) {
    const text = readFileSync(path, 'utf8');
    for (const match of text.matchAll(/^```(?:ts|typescript)\b[^\n]*\n([\s\S]*?)^```/gm)) {
      const code = match[1] ?? '';
      const line = text.slice(0, match.index).split('\n').length + 1;
      const block = { file: relative(root, path), line, code };
      (/^\/\/ fragment\b/.test(code) ? fragments : checked).push(block);
    }
  }
  return { checked, fragments };
}

describe('code blocks in docs/', () => {
  it('compile: every ts block that is not marked as a fragment', { timeout: 240_000 }, async () => {
    const { checked, fragments } = codeBlocks();
    rmSync(out, { recursive: true, force: true });
    mkdirSync(out, { recursive: true });
    const names = new Map<string, Block>();
    for (const block of checked) {
      const name = `${block.file.replace(/^docs\//, '').replace(/[/.]/g, '-')}-${block.line}.ts`;
      names.set(name, block);
      // One module per block: its own top-level names, top-level await allowed.
      writeFileSync(join(out, name), `${block.code}\nexport {};\n`);
    }
    writeFileSync(
      join(out, 'tsconfig.json'),
      JSON.stringify({
        extends: '../../tsconfig.base.json',
        compilerOptions: { noEmit: true, noUnusedLocals: false, types: ['node'] },
        include: ['*.ts'],
      }),
    );
    console.log(
      `[docs] type-checking ${checked.length} code blocks (${fragments.length} marked as fragments: ${fragments
        .map((b) => `${b.file}:${b.line}`)
        .join(', ')})`,
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const output = await promisify(execFile)(process.execPath, [tsc, '-p', out], { cwd: root }).then(
      ({ stdout }) => stdout,
      (error: { stdout?: string; message: string }) => error.stdout || error.message,
    );
    // Point each error at the markdown line it comes from.
    const errors = output
      .split('\n')
      .filter((line) => /error TS\d+/.test(line))
      .map((line) =>
        line.replace(
          /^(?:docs\/\.code-blocks\/)?([^(]+)\((\d+),(\d+)\)/,
          (whole, name: string, l: string) => {
            const block = names.get(name.replace(/^.*\//, ''));
            return block ? `${block.file}:${block.line + Number(l) - 1}` : whole;
          },
        ),
      );
    expect(errors).toEqual([]);
    expect(checked.length).toBeGreaterThan(0);
  });
});
