#!/usr/bin/env node
/**
 * `npm run build`: the package in dist/. tsc compiles the runtime folders to CommonJS with
 * declarations and source maps (tsconfig.build.json); non-TypeScript files in those folders
 * (dashboard assets…) are copied as they are; then each public entry gets an ES-module twin,
 * `index.mjs` + `index.d.mts`, re-exporting the CommonJS build's named exports, so `import` and
 * `require` share one instance (one class identity for `instanceof`, one store notifier).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
/** Top-level folders that ship (tsconfig.build.json includes the same list). */
export const RUNTIME_FOLDERS = ['engine', 'runner', 'testing', 'dashboard', 'workflows'];
/** Public entry points: `exports` subpath → compiled module (without extension). */
export const ENTRIES = { '.': 'engine/index', './testing': 'testing/index' };

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });

let assets = 0;
function copyAssets(dir) {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) { if (name !== 'node_modules') copyAssets(full); continue; }
    if (/\.(m|c)?ts$/.test(name) || name.includes('.test.')) continue;
    const target = join(dist, relative(root, full));
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(full, target);
    assets++;
  }
}
for (const folder of RUNTIME_FOLDERS) if (existsSync(join(root, folder))) copyAssets(join(root, folder));

const require = createRequire(import.meta.url);
for (const entry of Object.values(ENTRIES)) {
  const cjs = join(dist, `${entry}.js`);
  const names = Object.keys(require(cjs)).filter((k) => k !== 'default' && k !== '__esModule' && /^[A-Za-z_$][\w$]*$/.test(k)).sort();
  const base = `./${entry.split('/').pop()}.js`;
  writeFileSync(join(dist, `${entry}.mjs`), `// ES-module entry: the CommonJS build's exports, one shared instance.\nimport cjs from '${base}';\n\nexport const {\n${names.map((n) => `  ${n},`).join('\n')}\n} = cjs;\n`);
  writeFileSync(join(dist, `${entry}.d.mts`), `export * from '${base}';\n`);
}
console.log(`build: dist/ written (${assets} asset file${assets === 1 ? '' : 's'} copied; ES-module entries: ${Object.values(ENTRIES).join(', ')})`);
