/**
 * Workflow modules as the runner and `start --workflows` load them: .js, .mjs, .cjs and .ts side
 * by side; a syntax error names file:line:column; one name in two modules is an error naming
 * both. Real child processes (node --import tsx), since jest cannot import ES modules.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..', '..');
const engine = join(root, 'engine', 'index.ts');
const dir = join(tmpdir(), `leaseflow-load-workflows-${process.pid}`);

function list(path: string): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'fixtures', 'list-workflows.ts'), path], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('exit', () => { clearTimeout(timer); if (out) done(out.trim()); else fail(new Error(`no output; stderr: ${err}`)); });
  });
}

function write(sub: string, files: Record<string, string>): string {
  const target = join(dir, sub);
  mkdirSync(target, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(target, name), text);
  return target;
}

const cjs = (name: string) => `const { defineWorkflow } = require(${JSON.stringify(engine)});\nexports.wf = defineWorkflow({ name: '${name}' }, async () => '${name}');\n`;
const esm = (name: string) => `import { defineWorkflow } from ${JSON.stringify(engine)};\nexport const wf = defineWorkflow({ name: '${name}' }, async () => '${name}');\n`;

describe('loading workflow modules', () => {
  beforeAll(() => rmSync(dir, { recursive: true, force: true }));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a directory of .js, .mjs, .cjs and .ts modules serves all of them (declarations and tests skipped)', async () => {
    const path = write('mixed', {
      'a.js': cjs('from-js'), 'b.mjs': esm('from-mjs'), 'c.cjs': cjs('from-cjs'), 'd.ts': esm('from-ts'),
      'e.d.ts': 'export declare const x: number;\n', 'f.test.ts': 'throw new Error("never loaded");\n', 'notes.txt': 'not a module',
    });
    expect(await list(path)).toBe('["from-cjs","from-js","from-mjs","from-ts"]');
  }, 120_000);

  test('a syntax error names the file, line and column (1-based, as editors count)', async () => {
    const bad = 'export const a = 1;\nexport const b = {\n  x: 1 2,\n};\n';
    write('syntax', { 'bad.mjs': bad, 'bad.ts': bad });
    const [mjs, ts] = await Promise.all([list(join(dir, 'syntax', 'bad.mjs')), list(join(dir, 'syntax', 'bad.ts'))]);
    expect(mjs).toMatch(/^error VALIDATION syntax error in workflow module \S*bad\.mjs:3:8: /);
    expect(ts).toMatch(/^error VALIDATION syntax error in workflow module \S*bad\.ts:3:8: /);
  }, 120_000);

  test('one workflow name exported by two modules is an error naming both', async () => {
    const path = write('dupes', { 'one.ts': esm('same'), 'two.cjs': cjs('same') });
    expect(await list(path)).toMatch(/^error VALIDATION workflow "same" is defined by \S*one\.ts and \S*two\.cjs: workflow names must be unique$/);
  }, 120_000);
});
