/**
 * The dashboard's assets ship with the package and fetch nothing at run time: the vendored
 * Preact/htm modules equal the installed versions (re-run scripts/vendor-dashboard.ts after a
 * bump), their licences are committed, and no page or module names an outside URL.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { VENDORED, vendoredText } from '../../scripts/vendor-dashboard';

const STATIC = join(__dirname, '..', '..', 'dashboard', 'static');

describe('dashboard assets', () => {
  test.each(VENDORED.map((v) => [v.to, v.from]))('vendor/%s is the installed %s', (to, from) => {
    expect(readFileSync(join(STATIC, 'vendor', to), 'utf8')).toBe(vendoredText(from));
  });

  test('the licences of the vendored packages are committed with them', () => {
    const text = readFileSync(join(STATIC, 'vendor', 'LICENSES.txt'), 'utf8');
    for (const pkg of ['preact', 'htm']) {
      const { version } = JSON.parse(readFileSync(join(__dirname, '..', '..', 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string };
      expect(text).toContain(`${pkg}@${version}`);
    }
  });

  test('no asset names an outside URL (no CDN, nothing fetched at run time)', () => {
    const files = [...readdirSync(STATIC).filter((f) => /\.(html|js|css)$/.test(f)), ...readdirSync(join(STATIC, 'vendor')).filter((f) => f.endsWith('.mjs')).map((f) => `vendor/${f}`)];
    expect(files).toEqual(expect.arrayContaining(['index.html', 'app.js', 'vendor/preact.mjs']));
    for (const f of files) expect(readFileSync(join(STATIC, f), 'utf8')).not.toMatch(/(src|href|import)[^\n]{0,20}["'(]\s*(https?:)?\/\/[a-z]/i);
  });
});
