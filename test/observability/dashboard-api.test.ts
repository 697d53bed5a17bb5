/**
 * The dashboard's HTTP API against a live runner, on SQLite and MariaDB: the token guards every
 * route; server-side filters and cursor pages; the detail, timeline, payload-on-demand and
 * failed-only filter; signal and cancel actions reach the workflow; the SSE stream carries the
 * runner with its leases; bad input is refused with a typed error and writes nothing.
 */
import { describeEachDb } from '../helpers/db';
import { createClient, createRunner, defineWorkflow, silentLogger, type Client, type Runner } from '../../engine';
import { startDashboard, type Dashboard } from '../../dashboard/server';

const gate = defineWorkflow({ name: 'dash-gate', template: { key: (i: { key: string }) => i.key, limit: 1 } }, async (ctx, input: { key: string }) => {
  await ctx.step('prepare', async () => ({ big: 'x'.repeat(500), key: input.key }));
  const got = await ctx.waitForSignal<{ ok: boolean }>('go', { timeout: '1h' });
  return { got };
});
const flaky = defineWorkflow({ name: 'dash-flaky', retry: { maxAttempts: 2, initialInterval: '10ms' } }, async (ctx) => {
  await ctx.step('boom', async () => { throw new Error('always fails'); });
});

describeEachDb(__filename, 'dashboard API', (ctx) => {
  let client: Client;
  let runner: Runner;
  let dash: Dashboard;
  const get = (path: string, token: string | null = dash.token) =>
    fetch(new URL(path, dash.url), { headers: token === null ? {} : { authorization: `Bearer ${token}` }, redirect: 'manual' });
  const json = async (path: string) => {
    const res = await get(path);
    expect(res.status).toBe(200);
    return res.json() as Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const post = (path: string, body: unknown, type = 'application/json') =>
    fetch(new URL(path, dash.url), { method: 'POST', headers: { authorization: `Bearer ${dash.token}`, 'content-type': type }, body: JSON.stringify(body) });

  beforeAll(async () => {
    client = await createClient({ db: ctx.db });
    runner = await createRunner({ db: ctx.db, workflows: [gate, flaky], logger: silentLogger(), pollInterval: '50ms', leaseTtl: '5s' });
    await runner.start();
    dash = await startDashboard({ db: ctx.db, tickMs: 200 });
    await client.start(gate, { key: 'k1' }, { id: 'gate-a1' });
    await client.start(gate, { key: 'k1' }, { id: 'gate-a2' });
    await client.start(gate, { key: 'k2' }, { id: 'gate-b1' });
    const f = await client.start(flaky, {}, { id: 'flaky-1' });
    await f.result({ timeout: '20s' }).catch(() => undefined);
    for (const id of ['gate-a1', 'gate-b1']) {
      for (let i = 0; i < 200 && (await client.getHandle(id).describe()).status !== 'waiting'; i++) await new Promise((r) => setTimeout(r, 50));
    }
  });
  afterAll(async () => {
    await dash?.close();
    await runner?.shutdown();
    await client?.close();
  });

  test('every route but the static assets refuses a request without the right token', async () => {
    for (const path of ['/', '/api/executions', '/api/counts', '/api/live', '/api/executions/gate-a1', '/metrics']) {
      expect((await get(path, null)).status).toBe(401);
      expect((await get(path, 'wrong-token-123')).status).toBe(401);
    }
    expect((await get('/?token=nope', null)).status).toBe(401);
    const cancel = await fetch(new URL('/api/executions/gate-a2/cancel', dash.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(cancel.status).toBe(401);
    expect((await client.getHandle('gate-a2').describe()).cancelRequested).toBeNull();
    expect((await get('/assets/app.js', null)).status).toBe(200);
  });

  test('?token= logs a browser in with an HttpOnly cookie that then opens the page and the API', async () => {
    const login = await get(`/?token=${dash.token}`, null);
    expect(login.status).toBe(303);
    const cookie = login.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    const page = await fetch(new URL('/', dash.url), { headers: { cookie: cookie.split(';')[0] } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/assets/app.js');
    expect((await fetch(new URL('/api/counts', dash.url), { headers: { cookie: cookie.split(';')[0] } })).status).toBe(200);
  });

  test('filters run on the server: status, workflow, id prefix, template key; counts by status', async () => {
    const ids = (p: { executions: { id: string }[] }) => p.executions.map((e) => e.id).sort();
    expect(ids(await json('/api/executions?workflow=dash-gate'))).toEqual(['gate-a1', 'gate-a2', 'gate-b1']);
    expect(ids(await json('/api/executions?id=gate-a'))).toEqual(['gate-a1', 'gate-a2']);
    expect(ids(await json('/api/executions?template=k2'))).toEqual(['gate-b1']);
    expect(ids(await json('/api/executions?status=failed'))).toEqual(['flaky-1']);
    expect(ids(await json('/api/executions?status=queued,waiting&workflow=dash-gate'))).toEqual(['gate-a1', 'gate-a2', 'gate-b1']);
    expect(ids(await json(`/api/executions?from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`))).toEqual([]);
    const counts = await json('/api/counts');
    expect(counts.counts.failed).toBe(1);
  });

  test('cursor pages cover every execution once, newest first', async () => {
    const seen: string[] = [];
    let cursor = '';
    for (let i = 0; i < 10; i++) {
      const page = await json(`/api/executions?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.executions.map((e: { id: string }) => e.id));
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    expect([...seen].sort()).toEqual(['flaky-1', 'gate-a1', 'gate-a2', 'gate-b1']);
  });

  test('detail shows the lease/template state, queue position and the timeline with payloads on demand', async () => {
    const waiting = await json('/api/executions/gate-a2');
    expect(waiting.description.templateKey).toBe('k1');
    expect(waiting.queuePosition).toBe(1);
    const a1 = await json('/api/executions/gate-a1');
    expect(a1.description.admitted).toBe(true);
    expect(a1.queuePosition).toBeNull();
    const tl = await json('/api/executions/gate-a1/history');
    expect(tl.events[0]).toMatchObject({ seq: 0, kind: 'step', name: 'prepare', status: 'completed' });
    expect(tl.events[0].preview.length).toBeLessThanOrEqual(121);
    expect(tl.events[0]).not.toHaveProperty('value');
    const payload = await json('/api/executions/gate-a1/history/0');
    expect(payload.value).toEqual({ big: 'x'.repeat(500), key: 'k1' });
    const failedOnly = await json('/api/executions/flaky-1/history?failed=1');
    expect(failedOnly.events.length).toBeGreaterThan(0);
    expect(failedOnly.events.every((e: { status: string; attempt: number }) => e.status === 'failed' || e.attempt > 1)).toBe(true);
    expect((await json('/api/executions/gate-a1/history?failed=1')).events).toEqual([]);
    expect((await get('/api/executions/nope-404')).status).toBe(404);
  });

  test('the live stream sends snapshots with the runner, its heartbeat and the template holders', async () => {
    const ac = new AbortController();
    const res = await fetch(new URL('/api/live', dash.url), { headers: { authorization: `Bearer ${dash.token}` }, signal: ac.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const frame = () => /event: snapshot\ndata: (.*)\n\n/.exec(text)?.[1];
    const deadline = Date.now() + 20_000;
    while (!frame() && Date.now() < deadline) {
      const chunk = await reader.read();
      if (chunk.done) break;
      text += new TextDecoder().decode(chunk.value);
    }
    ac.abort();
    const data = JSON.parse(frame() as string);
    const me = data.runners.find((r: { id: string }) => r.id === runner.id);
    expect(me).toMatchObject({ status: 'live', concurrency: runner.options.concurrency });
    expect(me.heartbeatAgeMs).toBeLessThan(30_000);
    const k1 = data.templates.find((t: { key: string }) => t.key === 'k1');
    expect(k1.holders.map((h: { executionId: string }) => h.executionId)).toEqual(['gate-a1']);
    expect(k1.waiting).toEqual([{ executionId: 'gate-a2', position: 1 }]);
  });

  test('/metrics of the dashboard reports the cluster from the store (runners, leases, queue)', async () => {
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toMatch(/^leaseflow_cluster_runners\{status="live"\} 1$/m);
    expect(text).toMatch(/^leaseflow_queue_depth\{state="ready"\} \d+$/m);
    expect(text).toMatch(/^leaseflow_cluster_leases \d+$/m);
    expect(text).toMatch(/^leaseflow_store_operation_duration_seconds_count\{op="read"\} [1-9]\d*$/m);
    expect(text).not.toMatch(/gate-a1|gate-b1/);
  });

  test('bad input is refused with a typed error and writes nothing', async () => {
    const bad = await get('/api/executions?status=bogus');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('VALIDATION');
    expect((await post('/api/executions/gate-b1/signal', { name: '' })).status).toBe(400);
    expect((await post('/api/executions/gate-b1/signal', { name: 'go' }, 'text/plain')).status).toBe(415);
    expect((await json('/api/executions/gate-b1')).pendingSignals).toEqual([]);
    expect((await post('/api/executions/flaky-1/cancel', {})).status).toBe(409);
  });

  test('terminate stops an execution at once; resume runs a failed one again from its failed step', async () => {
    expect((await post('/api/executions/gate-a2/terminate', { reason: 'stop it now' })).status).toBe(200);
    expect((await json('/api/executions/gate-a2')).description).toMatchObject({ status: 'cancelled', error: { message: expect.stringMatching(/stop it now/) } });
    const resumed = await post('/api/executions/flaky-1/resume', {});
    expect(resumed.status).toBe(200);
    expect(await resumed.json()).toMatchObject({ ok: true, retriedSeq: 0 });
    await expect(client.getHandle('flaky-1').result({ timeout: '20s' })).rejects.toThrow(/always fails/);
    expect((await json('/api/executions/flaky-1')).description.attempts).toBeGreaterThan(1);
  });

  test('a signal sent through the API is delivered; a cancel through the API cancels', async () => {
    expect((await post('/api/executions/gate-b1/signal', { name: 'go', payload: { ok: true } })).status).toBe(200);
    expect(await client.getHandle('gate-b1').result({ timeout: '20s' })).toEqual({ got: { ok: true } });
    expect((await post('/api/executions/gate-a1/cancel', { reason: 'test says stop' })).status).toBe(200);
    await expect(client.getHandle('gate-a1').result({ timeout: '20s' })).rejects.toThrow(/test says stop/);
    expect((await json('/api/executions/gate-a1')).description.status).toBe('cancelled');
  });
});
