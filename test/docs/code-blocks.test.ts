/**
 * Every ```ts block in docs/, README.md and the packages' READMEs compiles against the workspace's packages and
 * the shared prelude (test/docs/prelude.d.ts), so the docs cannot rot. A block skipped with
 * `<!-- docs-check: skip: reason -->` must be on the allow-list below, so skipping cannot spread silently.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Block, codeBlocks, markdownFiles, root, typeCheck } from './code-blocks.js';

/** Blocks that are not checked, by file and reason. Adding one needs a reason a reviewer accepts. */
const UNCHECKED: { file: string; reason: string }[] = [];

/**
 * A page with deliberate mistakes (negative control): an option name, a method name, an argument type; and a
 * sketch skipped by its marker, which must not be compiled.
 */
const WRONG = [
  '# A page',
  '',
  '```ts',
  "import { createReloader } from '@apphook/core';",
  '',
  "createReloader({ store, binding, mode: 'interval', intervalMS: 500 });",
  '```',
  '',
  '```ts',
  'await orm.em.transactional((em) => reloader.markChange(em));',
  'await reloader.markChanged(orm);',
  '```',
  '',
  '<!-- docs-check: skip: a sketch -->',
  '```ts',
  'rebuild(every, process) => after commit;',
  '```',
  '',
].join('\n');

const tmp = mkdtempSync(join(tmpdir(), 'apphook-docs-'));
const wrongPage = join(tmp, 'wrong.md');
let docs: Block[] = [];
let control: Block[] = [];
let errors: string[] = [];

// One tsc program for the docs and the control: loading the libraries' types is most of its time.
beforeAll(async () => {
  writeFileSync(wrongPage, WRONG);
  docs = codeBlocks(markdownFiles());
  control = codeBlocks([wrongPage]);
  const checked = [...docs, ...control].filter((b) => !b.skip);
  errors = await typeCheck(checked, join(root, 'docs', '.code-blocks'));
}, 300_000);
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('code blocks in docs/ and the READMEs', () => {
  it('compile against the packages and the prelude', () => {
    const skipped = docs.filter((b) => b.skip).map((b) => ({ file: b.file, reason: b.skip }));
    console.log(`[docs] type-checked ${docs.length - skipped.length} code blocks, ${skipped.length} skipped`);
    expect(docs.length - skipped.length).toBeGreaterThan(40);
    for (const s of skipped) {
      expect(UNCHECKED, `${s.file} skips a block ("${s.reason}"), not on the allow-list`).toContainEqual(s);
    }
    expect(skipped.length).toBeLessThanOrEqual(UNCHECKED.length);
    expect(errors.filter((line) => !line.startsWith(wrongPage))).toEqual([]);
  });

  it('report a wrong block at its file and line (negative control)', () => {
    expect(control.map((b) => [b.line, b.skip])).toEqual([
      [4, undefined],
      [10, undefined],
      [16, 'a sketch'],
    ]);
    expect(errors.filter((line) => line.startsWith(wrongPage)).sort()).toEqual([
      expect.stringMatching(new RegExp(`^${wrongPage}:10: error TS2551: .*'markChange'`)),
      expect.stringMatching(new RegExp(`^${wrongPage}:11: error TS2345: .*MikroORM`)),
      expect.stringMatching(new RegExp(`^${wrongPage}:6: error TS\\d+: .*'intervalMS'`)),
    ]);
  });
});
