/**
 * The dashboard in a real browser (playwright-core driving Debian's Chromium) over two runner
 * processes on MariaDB: find an execution by filter, open its timeline, send a signal from the
 * page and see it delivered, watch a lease move to the other runner after a kill -9, cancel an
 * execution from the page; access without the token is refused. A screenshot of each view goes
 * to test-results/. Skipped (loudly) when MariaDB or /usr/bin/chromium is missing, except in CI.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createClient, openDatabase, type Client, type Database } from '../../engine';
import { startDashboard, type Dashboard } from '../../dashboard/server';
import { freshDbUrl, testDialects } from '../helpers/db';
import { killAllRunners, spawnRunner, waitFor, type RunnerProcess } from '../helpers/processes';
import { e2eApproval, e2eLong, e2eWait } from './fixtures/workflows';

/** The page's DOM, as used inside waitForFunction callbacks (which run in the browser). */
declare const document: { querySelector(s: string): { textContent: string | null } | null; querySelectorAll(s: string): { length: number } };

const CHROMIUM = '/usr/bin/chromium';
const OUT = join(__dirname, '..', '..', 'test-results');
const WORKFLOWS = join(__dirname, 'fixtures', 'workflows.ts');
const canRun = testDialects().includes('mysql') && existsSync(CHROMIUM);
if (!canRun && process.env.CI) throw new Error(`the browser test needs MariaDB and ${CHROMIUM} in CI (.ci/run installs chromium)`);
const suite = canRun ? describe : describe.skip;

suite('dashboard in a browser [mysql]', () => {
  let db: Database;
  let url: string;
  let client: Client;
  let dash: Dashboard;
  let browser: Browser;
  let page: Page;
  let runners: RunnerProcess[];
  const shot = (name: string) => page.screenshot({ path: join(OUT, `dashboard-${name}.png`), fullPage: true });

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    url = await freshDbUrl('mysql', 'e2e_dashboard');
    db = await openDatabase(url);
    await db.migrate();
    client = await createClient({ db });
    const common = { dbUrl: url, workflows: WORKFLOWS, concurrency: 4, leaseTtl: '2s', pollInterval: '100ms' };
    runners = await Promise.all([spawnRunner({ ...common, instanceId: 'e2e-runner-a' }), spawnRunner({ ...common, instanceId: 'e2e-runner-b' })]);
    dash = await startDashboard({ db, tickMs: 300 });
    browser = await chromium.launch({
      executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await dash?.close();
    await killAllRunners();
    await client?.close();
    await db?.close();
  });

  test('a request without the token is refused', async () => {
    const anon = await browser.newPage();
    try {
      const res = await anon.goto(dash.url);
      expect(res?.status()).toBe(401);
      expect(await anon.textContent('body')).toContain('token');
      const api = await anon.request.get(new URL('/api/executions', dash.url).toString());
      expect(api.status()).toBe(401);
    } finally {
      await anon.close();
    }
  });

  test('find an execution by filter, open its timeline, send a signal from the page and see it delivered', async () => {
    for (let i = 0; i < 3; i++) await client.start(e2eApproval, { amount: 10 * i }, { id: `e2e-approval-${i}` });
    for (let i = 0; i < 3; i++) await client.start(e2eWait, {}, { id: `e2e-other-${i}` });
    await waitFor(async () => (await client.getHandle('e2e-approval-1').describe()).status === 'waiting', { timeoutMs: 20_000, what: 'e2e-approval-1 waiting' });

    await page.goto(dash.loginUrl);
    await page.waitForSelector('[data-testid=executions] tbody tr a');
    await page.fill('[data-testid=filters] input[name=id]', 'e2e-approval-1');
    await page.selectOption('[data-testid=filters] select[name=status]', 'waiting');
    await page.click('[data-testid=apply]');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=executions] tbody tr').length === 1
      && document.querySelector('[data-testid=executions] tbody')?.textContent?.includes('e2e-approval-1'));
    await shot('executions');

    await page.click('[data-testid=executions] tbody tr a');
    await page.waitForSelector('[data-testid=timeline] tr[data-kind=step]');
    expect(await page.textContent('[data-testid=execution-id]')).toBe('e2e-approval-1');
    expect(await page.textContent('[data-testid=timeline]')).toContain('prepare');

    await page.fill('[data-testid=signal-name]', 'approve');
    await page.fill('[data-testid=signal-payload]', '{"ok": true}');
    await page.click('[data-testid=signal]');
    await page.click('[data-testid=confirm-signal]');
    await page.waitForFunction(() => document.querySelector('[data-testid=status]')?.textContent?.startsWith('completed'), undefined, { timeout: 20_000 });
    await page.waitForSelector('[data-testid=timeline] tr[data-kind=signal]');
    expect(await client.getHandle('e2e-approval-1').result({ timeout: '5s' })).toEqual({ approved: true });
    await shot('execution');
  });

  test('the live view shows a lease moving to the other runner after a kill -9', async () => {
    const h = await client.start(e2eLong, {}, { id: 'e2e-long-1' });
    let holder = '';
    await waitFor(async () => { holder = (await h.describe()).leaseHolder?.owner ?? ''; return holder !== ''; }, { timeoutMs: 20_000, what: 'e2e-long-1 leased' });
    await page.goto(new URL('#/live', dash.url).toString());
    await page.waitForSelector(`[data-testid=runner][data-runner="${holder}"] [data-testid=lease][data-execution="e2e-long-1"]`);
    const victim = runners.find((r) => r.instanceId === holder) as RunnerProcess;
    const survivor = runners.find((r) => r !== victim) as RunnerProcess;
    await victim.kill9();
    await page.waitForSelector(`[data-testid=move]:has-text("e2e-long-1"):has-text("${survivor.instanceId}")`, { timeout: 30_000 });
    await page.waitForSelector(`[data-testid=runner][data-runner="${survivor.instanceId}"] [data-testid=lease][data-execution="e2e-long-1"]`, { timeout: 10_000 }).catch(() => undefined);
    await shot('live');
    expect(await h.result({ timeout: '20s' })).toBe('done');
  });

  test('cancel an execution from the page', async () => {
    await waitFor(async () => (await client.getHandle('e2e-other-2').describe()).status === 'waiting', { timeoutMs: 20_000, what: 'e2e-other-2 waiting' });
    await page.goto(new URL(`#/execution/${encodeURIComponent('e2e-other-2')}`, dash.url).toString());
    await page.waitForSelector('[data-testid=cancel]');
    await page.fill('[data-testid=cancel-reason]', 'no longer needed');
    await page.click('[data-testid=cancel]');
    await page.click('[data-testid=confirm-cancel]');
    await page.waitForFunction(() => document.querySelector('[data-testid=status]')?.textContent?.startsWith('cancelled'), undefined, { timeout: 20_000 });
    await expect(client.getHandle('e2e-other-2').result({ timeout: '5s' })).rejects.toThrow(/no longer needed/);
    await shot('cancelled');
  });
});
