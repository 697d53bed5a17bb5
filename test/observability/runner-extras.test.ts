/**
 * A runner process's extras, as `leaseflow runner --metrics P --dashboard P` asks for them
 * through its environment: /metrics and the dashboard are served next to the runner, on the
 * given port plus the replica index − 1, and closed with it.
 */
import { describeEachDb } from '../helpers/db';
import { createRunner, defineWorkflow, silentLogger } from '../../engine';
import { startExtras } from '../../runner/extras';

const noop = defineWorkflow({ name: 'extras-noop' }, async () => 1);

describeEachDb(__filename, 'runner extras', (ctx) => {
  test('serves /metrics and the dashboard when asked, on port + replica index − 1', async () => {
    const runner = await createRunner({ db: ctx.db, workflows: [noop], logger: silentLogger() });
    await runner.start();
    const base = 20000 + Math.floor(Math.random() * 20000);
    const extras = await startExtras(runner, {
      LEASEFLOW_METRICS_PORT: String(base), LEASEFLOW_DASHBOARD_PORT: String(base + 100), LEASEFLOW_REPLICA_INDEX: '3', LEASEFLOW_DASHBOARD_TOKEN: 'extras-token-1',
    }, silentLogger());
    try {
      expect(extras.metricsUrl).toBe(`http://127.0.0.1:${base + 2}/metrics`);
      const metrics = await (await fetch(extras.metricsUrl as string)).text();
      expect(metrics).toContain('leaseflow_runner_slots{state="available"} 10');
      expect(extras.dashboardUrl).toBe(`http://127.0.0.1:${base + 102}/?token=extras-token-1`);
      const api = await fetch(new URL('/api/snapshot', extras.dashboardUrl), { headers: { authorization: 'Bearer extras-token-1' } });
      expect(((await api.json()) as { runners: { id: string }[] }).runners.map((r) => r.id)).toContain(runner.id);
    } finally {
      await extras.close();
      await runner.shutdown();
    }
    await expect(fetch(extras.metricsUrl as string)).rejects.toThrow();
  });

  test('serves nothing when not asked', async () => {
    const runner = await createRunner({ db: ctx.db, workflows: [noop], logger: silentLogger() });
    const extras = await startExtras(runner, {}, silentLogger());
    expect([extras.metricsUrl, extras.dashboardUrl]).toEqual([undefined, undefined]);
    await extras.close();
    await runner.shutdown();
  });
});
