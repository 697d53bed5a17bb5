/**
 * Deploy-gate bench: seed N stored histories in bulk (bench/gate-seed.ts), run `checkDeploy`
 * over them (streamed in pages, read-only connection), and print one JSON object: histories
 * replayed, seconds, histories/s, peak RSS and peak heap growth over the pre-gate baseline
 * (sampled every 20 ms); run under `node --expose-gc` it also reports the heap retained after a full
 * GC every 10 pages (`retained_growth_mb`: flat when histories stream). Usage: npm run bench:gate -- [--count 100000] [--db URL] [--page 200]
 * The database (default mariadb://root@127.0.0.1:3306/leaseflow_bench_gate, or a temp SQLite
 * file with --db sqlite) is dropped and re-created.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkDeploy } from '../engine/deploy/check-deploy';
import { openDatabase } from '../engine/store/database';
import { gateOrder, seedHistories } from './gate-seed';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const MB = 1024 * 1024;

async function main(): Promise<void> {
  const count = Number(arg('count', '100000'));
  const pageSize = Number(arg('page', '200'));
  let url = arg('db', 'mariadb://root@127.0.0.1:3306/leaseflow_bench_gate');
  let tmp: string | null = null;
  if (url === 'sqlite') {
    tmp = mkdtempSync(join(tmpdir(), 'lf-gate-'));
    url = `sqlite:${join(tmp, 'gate.db')}`;
  } else if (!url.startsWith('sqlite:')) {
    const base = url.replace(/\/[^/]*$/, '');
    const name = url.slice(base.length + 1);
    const admin = await openDatabase(`${base}/${name}`, { createDatabase: true });
    await admin.sql.run(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.sql.run(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4`);
    await admin.close();
  }
  const db = await openDatabase(url, { createDatabase: true });
  await db.migrate();
  const seedStart = performance.now();
  await seedHistories(db, count);
  const seedS = (performance.now() - seedStart) / 1000;
  await db.close();

  global.gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakHeap = base.heapUsed;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakHeap = Math.max(peakHeap, m.heapUsed);
  }, 20);
  const t0 = performance.now();
  // With --expose-gc: the heap retained after a full GC, every 10 pages (what streaming bounds).
  const retained: number[] = [];
  let pages = 0;
  const onProgress = global.gc ? () => { if (pages++ % 10 === 0) { global.gc?.(); retained.push(process.memoryUsage().heapUsed); } } : undefined;
  const report = await checkDeploy({ db: url, workflows: [gateOrder], pageSize, sample: 0, onProgress });
  const seconds = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  if (tmp) rmSync(tmp, { recursive: true, force: true });
  const out = {
    bench: 'deploy-gate', dialect: url.startsWith('sqlite:') ? 'sqlite' : 'mariadb', histories: report.checked, ok: report.ok, page_size: pageSize,
    seconds: Math.round(seconds * 100) / 100, histories_per_s: Math.round(report.checked / seconds),
    peak_rss_mb: Math.round(peakRss / MB), baseline_heap_mb: Math.round(base.heapUsed / MB),
    peak_heap_growth_mb: Math.round(((peakHeap - base.heapUsed) / MB) * 10) / 10, seed_seconds: Math.round(seedS * 100) / 100,
    ...(retained.length > 1 ? {
      retained_samples: retained.length,
      retained_first_mb: Math.round((retained[0] / MB) * 10) / 10,
      retained_growth_mb: Math.round(((Math.max(...retained) - retained[0]) / MB) * 10) / 10,
    } : {}),
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
  if (!report.ok || report.checked !== count) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(`bench:gate failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exitCode = 1;
});
