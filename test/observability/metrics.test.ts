/**
 * Prometheus metrics of a runner, scraped over HTTP before and after a workload on SQLite and
 * MariaDB: the counters move by exactly the workload's amounts (starts, finishes by outcome,
 * step retries, duration histogram counts, lease acquisitions), queue depth reads the store,
 * names follow the conventions, and no execution id ever appears in a label.
 */
import { describeEachDb } from '../helpers/db';
import { parseProm, sample, type Samples } from '../helpers/prom';
import { createClient, createRunner, createRunnerMetrics, defineWorkflow, serveMetrics, silentLogger, type Client } from '../../engine';

const ok = defineWorkflow({ name: 'm-ok' }, async (ctx, n: number) => {
  const a = await ctx.step('a', async () => n + 1);
  return ctx.step('b', async () => a * 2);
});
const fail = defineWorkflow({ name: 'm-fail', retry: { maxAttempts: 3, initialInterval: '5ms', maxInterval: '5ms' } }, async (ctx) => {
  await ctx.step('boom', async () => { throw new Error('nope'); });
});
const wait = defineWorkflow({ name: 'm-wait' }, async (ctx) => ctx.waitForSignal('never', { timeout: '1h' }));
const unserved = defineWorkflow({ name: 'm-unserved' }, async () => 1);

describeEachDb(__filename, 'runner metrics', (ctx) => {
  let client: Client;
  beforeAll(async () => { client = await createClient({ db: ctx.db }); });
  afterAll(async () => client.close());

  test('counters move by exactly the workload and carry no execution id', async () => {
    const runner = await createRunner({ db: ctx.db, workflows: [ok, fail, wait], logger: silentLogger(), pollInterval: '50ms', leaseTtl: '5s' });
    const metrics = createRunnerMetrics(runner);
    const server = await serveMetrics(metrics.registry, { port: 0 });
    const scrape = async (): Promise<Samples> => {
      const res = await fetch(server.url);
      expect(res.status).toBe(200);
      return parseProm(await res.text());
    };
    await runner.start();
    try {
      const before = await scrape();
      const ids: string[] = [];
      const oks = await Promise.all(Array.from({ length: 5 }, (_, i) => client.start(ok, i, { id: `metrics-ok-${i}` })));
      const fails = await Promise.all(Array.from({ length: 2 }, (_, i) => client.start(fail, {}, { id: `metrics-fail-${i}` })));
      const waiting = await client.start(wait, {}, { id: 'metrics-wait-0' });
      ids.push(...oks.map((h) => h.executionId), ...fails.map((h) => h.executionId), waiting.executionId);
      await Promise.all(oks.map((h) => h.result({ timeout: '30s' })));
      await Promise.all(fails.map((h) => h.result({ timeout: '30s' }).catch(() => undefined)));
      for (let i = 0; i < 200 && (await waiting.describe()).status !== 'waiting'; i++) await new Promise((r) => setTimeout(r, 25));
      await waiting.cancel('metrics test');
      await waiting.result({ timeout: '30s' }).catch(() => undefined);
      await client.start(unserved, 1, { id: 'metrics-ready-0' });
      await client.start(unserved, 2, { id: 'metrics-delayed-0', delay: '1h' });
      await client.start(unserved, 3, { id: 'metrics-delayed-1', delay: '1h' });
      const text = await (await fetch(server.url)).text();
      const after = parseProm(text);
      const delta = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);

      expect(delta('leaseflow_executions_started_total', { workflow: 'm-ok' })).toBe(5);
      expect(delta('leaseflow_executions_started_total', { workflow: 'm-fail' })).toBe(2);
      expect(delta('leaseflow_executions_finished_total', { workflow: 'm-ok', outcome: 'completed' })).toBe(5);
      expect(delta('leaseflow_executions_finished_total', { workflow: 'm-fail', outcome: 'failed' })).toBe(2);
      expect(delta('leaseflow_executions_finished_total', { workflow: 'm-wait', outcome: 'cancelled' })).toBe(1);
      expect(delta('leaseflow_step_retries_total', { workflow: 'm-fail', step: 'boom' })).toBe(4);
      expect(delta('leaseflow_step_duration_seconds_count', { workflow: 'm-ok', step: 'a', outcome: 'completed' })).toBe(5);
      expect(delta('leaseflow_step_duration_seconds_count', { workflow: 'm-fail', step: 'boom', outcome: 'failed' })).toBe(2);
      expect(delta('leaseflow_execution_duration_seconds_count', { workflow: 'm-ok', outcome: 'completed' })).toBe(5);
      expect(delta('leaseflow_schedule_to_start_seconds_count', { workflow: 'm-ok' })).toBeGreaterThanOrEqual(5);
      expect(delta('leaseflow_lease_acquisitions_total', { workflow: 'm-wait' })).toBe(2); // first run + the run that delivers the cancel
      expect(delta('leaseflow_fencing_rejections_total')).toBe(0);
      expect(sample(after, 'leaseflow_queue_depth', { state: 'ready' })).toBe(1);
      expect(sample(after, 'leaseflow_queue_depth', { state: 'delayed' })).toBe(2);
      expect(sample(after, 'leaseflow_runner_slots', { state: 'used' }) + sample(after, 'leaseflow_runner_slots', { state: 'available' })).toBe(runner.options.concurrency);
      expect(delta('leaseflow_store_operation_duration_seconds_count', { op: 'write' })).toBeGreaterThan(0);
      expect(sample(after, 'leaseflow_heartbeat_lag_seconds')).toBeGreaterThanOrEqual(0);

      for (const name of new Set([...after.keys()].map((k) => k.split('{')[0]))) {
        expect(name).toMatch(/^leaseflow_[a-z_]+$/);
      }
      for (const line of text.split('\n').filter((l) => l.startsWith('# TYPE'))) {
        const [, , name, type] = line.split(' ');
        if (type === 'counter') expect(name).toMatch(/_total$/);
        if (type === 'histogram') expect(name).toMatch(/_seconds$/);
      }
      for (const id of ids) expect(text).not.toContain(id);
    } finally {
      await server.close();
      metrics.close();
      await runner.shutdown();
    }
  });
});
