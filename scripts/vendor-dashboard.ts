/**
 * Copy the dashboard's UI modules from node_modules into dashboard/static/vendor (committed, so
 * the assets ship with the package and nothing is fetched at run time), with their licences.
 * Run after bumping preact or htm:  tsx scripts/vendor-dashboard.ts   (test/unit/dashboard-vendor
 * checks the committed copies match the installed versions).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');
const out = join(root, 'dashboard', 'static', 'vendor');

/** Vendored files: installed path → committed name. */
export const VENDORED: readonly { from: string; to: string; pkg: string }[] = [
  { from: 'node_modules/preact/dist/preact.mjs', to: 'preact.mjs', pkg: 'preact' },
  { from: 'node_modules/preact/hooks/dist/hooks.mjs', to: 'preact-hooks.mjs', pkg: 'preact' },
  { from: 'node_modules/htm/dist/htm.mjs', to: 'htm.mjs', pkg: 'htm' },
];

/** The committed text of one vendored file (source map reference dropped: maps are not shipped). */
export function vendoredText(from: string): string {
  return readFileSync(join(root, from), 'utf8').replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, '\n');
}

function main(): void {
  mkdirSync(out, { recursive: true });
  for (const f of VENDORED) writeFileSync(join(out, f.to), vendoredText(f.from));
  const licences = ['preact', 'htm'].map((pkg) => {
    const meta = JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string; license: string };
    return `${pkg}@${meta.version} (${meta.license})\n\n${readFileSync(join(root, 'node_modules', pkg, 'LICENSE'), 'utf8').trim()}\n`;
  });
  writeFileSync(join(out, 'LICENSES.txt'), licences.join('\n----------------------------------------\n\n'));
  console.log(`vendored ${VENDORED.length} modules into ${out}`);
}

if (require.main === module) main();
