/**
 * Payload codecs (issue 14, item 3), on SQLite and MariaDB/MySQL: a payload written with key 1 is
 * read after rotating to key 2; no raw row of any table holds the plaintext of an encrypted
 * payload (input, step result, signal payload, output, error, custom status, child input/output,
 * schedule input); a process without the key gets a typed PayloadCodecError or the
 * "encrypted (key k2)" display, never a crash; the size limit applies to the encoded form; the CLI
 * decodes with LEASEFLOW_PAYLOAD_KEYS and shows the key id without it.
 */
import { randomBytes } from 'node:crypto';
import { describeEachDb } from '../helpers/db';
import { drive } from '../helpers/engine';
import {
  aesGcmCodec, compressionCodec, createClient, createInspector, defineWorkflow, openDatabase, PayloadCodecError, SerializationError, UndecodablePayload,
  WorkflowFailedError, type Database, type PayloadCodec,
} from '../../engine';
import { runCli } from '../../runner/cli';
import { executionDetail } from '../../dashboard/api';
import type { Io } from '../../runner/commands/command';

const K1 = randomBytes(32);
const K2 = randomBytes(32);
const withK1 = (): PayloadCodec[] => [aesGcmCodec({ keys: { k1: K1 }, currentKeyId: 'k1' })];
const withK1K2 = (): PayloadCodec[] => [compressionCodec({ minBytes: 64 }), aesGcmCodec({ keys: { k1: K1, k2: K2 }, currentKeyId: 'k2' })];

const SECRET = {
  input: 'SECRET-INPUT-4f1c', step: 'SECRET-STEP-9a2e', signal: 'SECRET-SIGNAL-77b0', output: 'SECRET-OUTPUT-c3d1',
  status: 'SECRET-STATUS-0e5f', error: 'SECRET-ERROR-51aa', childIn: 'SECRET-CHILDIN-2b6c', childOut: 'SECRET-CHILDOUT-8d4e', schedule: 'SECRET-SCHED-6f93',
};

const child = defineWorkflow({ name: 'pc-child' }, async (wctx, input: { s: string }) =>
  wctx.step('echo', async () => ({ got: input.s, s: SECRET.childOut })));
const secretive = defineWorkflow({ name: 'pc-secretive' }, async (wctx, input: { s: string }) => {
  const a = await wctx.step('a', async () => ({ s: SECRET.step, long: SECRET.step.repeat(20) }));
  wctx.setStatus({ s: SECRET.status });
  const c = await (await wctx.startChild(child, { s: SECRET.childIn })).result();
  const sig = await wctx.waitForSignal<{ s: string }>('go');
  return { input: input.s, step: a.s, sig: sig?.s, child: c.s, out: SECRET.output };
});
const failing = defineWorkflow({ name: 'pc-failing', retry: { maxAttempts: 1 } }, async (wctx) =>
  wctx.step('boom', async () => { throw new Error(`failed with ${SECRET.error}`); }));

/** Every text-ish cell of every table, as one string per row. */
async function allCells(db: Database): Promise<string[]> {
  const tables = db.sql.mysql
    ? await db.sql.all<{ t: string }>('SELECT table_name AS t FROM information_schema.tables WHERE table_schema = DATABASE()')
    : await db.sql.all<{ t: string }>("SELECT name AS t FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'");
  const out: string[] = [];
  for (const { t } of tables) {
    const rows = await db.sql.all<Record<string, unknown>>(`SELECT * FROM ${db.sql.mysql ? `\`${t}\`` : `"${t}"`}`);
    for (const r of rows) out.push(`${t}: ${Object.values(r).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v))).join(' | ')}`);
  }
  return out;
}

describeEachDb(__filename, 'payload codecs', (ctx) => {
  let enc1: Database;
  let enc2: Database;
  beforeAll(async () => {
    enc1 = await openDatabase(ctx.url, { codecs: withK1() });
    enc2 = await openDatabase(ctx.url, { codecs: withK1K2() });
  });
  afterAll(async () => {
    await enc1?.close();
    await enc2?.close();
  });

  test('written with key 1, read after rotating to key 2; raw rows of every table hold no plaintext', async () => {
    const c1 = await createClient({ db: enc1 });
    const h = await c1.start(secretive, { s: SECRET.input }, { id: 'pc-rotate' });
    await drive(enc1, [secretive, child]); // runs up to the signal wait under key 1
    expect((await h.describe()).status).toBe('waiting');
    await c1.schedules.create({ id: 'pc-sched', workflow: child, input: { s: SECRET.schedule }, every: '1h', paused: true });
    const f = await c1.start(failing, null, { id: 'pc-fail' });
    await drive(enc1, [failing]);
    await expect(f.result({ timeout: '5s' })).rejects.toThrow(SECRET.error);
    await c1.close();

    // Rotate: key 2 is current, key 1 still reads.
    const c2 = await createClient({ db: enc2 });
    const h2 = c2.getHandle('pc-rotate');
    await h2.signal('go', { s: SECRET.signal });
    await drive(enc2, [secretive, child]);
    expect(await h2.result({ timeout: '10s' })).toEqual({ input: SECRET.input, step: SECRET.step, sig: SECRET.signal, child: SECRET.childOut, out: SECRET.output });
    const d = await h2.describe();
    expect(d.input).toEqual({ s: SECRET.input });
    expect(d.customStatus).toEqual({ s: SECRET.status });
    const hist = await h2.history();
    expect(hist.find((e) => e.name === 'a')?.value).toMatchObject({ s: SECRET.step });
    expect(hist.find((e) => e.name === 'go')?.value).toEqual({ s: SECRET.signal });
    expect((await c2.schedules.describe('pc-sched')).input).toEqual({ s: SECRET.schedule });
    await c2.close();

    // Both key ids are in the store: rows from before and after the rotation.
    const events = await ctx.db.sql.all<{ name: string; payload: string }>("SELECT name, payload FROM workflow_events WHERE execution_id = 'pc-rotate'");
    expect(events.find((e) => e.name === 'a')?.payload).toMatch(/^~lf1 (deflate )?aes-256-gcm\/k1 /);
    expect(events.find((e) => e.name === 'go')?.payload).toMatch(/^~lf1 (deflate )?aes-256-gcm\/k2 /);

    // Control: the scan does find plaintext (a payload written without codecs).
    const plain = await createClient({ db: ctx.db });
    await plain.start(child, { s: 'PLAIN-CONTROL-1d2e' }, { id: 'pc-control' });
    await plain.close();
    const cells = await allCells(ctx.db);
    expect(cells.filter((c) => c.includes('PLAIN-CONTROL-1d2e')).length).toBeGreaterThan(0);
    for (const s of Object.values(SECRET)) expect(cells.filter((c) => c.includes(s))).toEqual([]);
  });

  test('without the key: describe/history show "encrypted (key k2)", result() is a typed PayloadCodecError, a runner parks it with that error', async () => {
    const c2 = await createClient({ db: enc2 });
    const h = await c2.start(child, { s: SECRET.childIn }, { id: 'pc-nokey' });
    await c2.close();
    const plain = await createClient({ db: ctx.db }); // no codecs at all
    const d = await plain.getHandle('pc-nokey').describe();
    expect(d.input).toBeInstanceOf(UndecodablePayload);
    expect(String(d.input)).toBe('encrypted (key k2)');
    expect(JSON.stringify(d.input)).toBe('"encrypted (key k2)"');
    // The dashboard's API (over client and inspector) shows the same, without failing.
    const inspector = await createInspector(ctx.db);
    const detail = JSON.stringify(await executionDetail({ client: plain, inspector }, 'pc-nokey'));
    expect(detail).toContain('"input":"encrypted (key k2)"');
    expect(detail).not.toContain(SECRET.childIn);
    await inspector.close();
    // A process with key 1 only: same display (it lacks k2).
    const only1 = await createClient({ db: enc1 });
    expect(String((await only1.getHandle('pc-nokey').describe()).input)).toBe('encrypted (key k2)');

    // A runner without the key fails the execution with a typed error instead of crashing.
    await drive(ctx.db, [child]);
    const failed = await plain.getHandle('pc-nokey').result({ timeout: '5s' }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    expect((failed as WorkflowFailedError).cause).toMatchObject({ code: 'PAYLOAD_CODEC' });
    expect(String(((failed as WorkflowFailedError).cause as Error).message)).toContain('k2');

    // An output encrypted with k2 read by a client without it: result() rejects with PayloadCodecError.
    const c2b = await createClient({ db: enc2 });
    const ok = await c2b.start(child, { s: 'x' }, { id: 'pc-nokey-out' });
    await drive(enc2, [child]);
    expect(await ok.result({ timeout: '5s' })).toMatchObject({ got: 'x' });
    await c2b.close();
    await expect(plain.getHandle('pc-nokey-out').result({ timeout: '5s' })).rejects.toBeInstanceOf(PayloadCodecError);
    expect(String((await plain.getHandle('pc-nokey-out').history()).find((e) => e.name === 'echo')?.value)).toBe('encrypted (key k2)');

    // Tampered ciphertext: PayloadCodecError (the auth tag), and the display does not crash.
    await ctx.db.sql.run("UPDATE workflow_executions SET output = REPLACE(output, ' ', ' AAAA') WHERE id = 'pc-nokey-out'");
    const c2c = await createClient({ db: enc2 });
    await expect(c2c.getHandle('pc-nokey-out').result({ timeout: '5s' })).rejects.toBeInstanceOf(PayloadCodecError);
    expect((await c2c.getHandle('pc-nokey-out').describe()).output).toBeInstanceOf(UndecodablePayload);
    await c2c.close();
    await only1.close();
    await plain.close();
  });

  test('a signal encrypted with a key the runner lacks parks the execution with PayloadCodecError (no crash, no plaintext fallback)', async () => {
    const waiter = defineWorkflow({ name: 'pc-waiter' }, async (wctx) => wctx.waitForSignal('in'));
    const c1 = await createClient({ db: enc1 });
    const h = await c1.start(waiter, null, { id: 'pc-sig-k2' });
    await drive(enc1, [waiter]);
    expect((await h.describe()).status).toBe('waiting');
    const c2 = await createClient({ db: enc2 });
    await c2.getHandle('pc-sig-k2').signal('in', { s: SECRET.signal });
    await drive(enc1, [waiter]); // this runner has k1 only
    const failed = await h.result({ timeout: '5s' }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    expect((failed as WorkflowFailedError).cause).toMatchObject({ code: 'PAYLOAD_CODEC', message: expect.stringContaining('k2') });
    await c1.close();
    await c2.close();
  });

  test('the size limit applies to the encoded payload, and says so; nothing is written', async () => {
    const limit = 1000;
    const aes = await createClient({ db: enc1, payloadLimitBytes: limit });
    const fits = 'x'.repeat(890); // 899 bytes of JSON: within the limit before encoding, over it after
    const err = await aes.start(child, { s: fits }, { id: 'pc-size' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SerializationError);
    expect((err as Error).message).toMatch(/after encoding.*over the limit of 1000 bytes/);
    expect(await ctx.db.sql.all("SELECT id FROM workflow_executions WHERE id = 'pc-size'")).toEqual([]);
    const serr = await aes.getHandle('pc-rotate').signal('go', fits).catch((e: unknown) => e);
    expect(serr).toBeInstanceOf(SerializationError);
    await aes.close();
    // Compressed first: 5000 bytes of repetitive JSON fit in 1000 once encoded.
    const zipped = await createClient({ db: enc2, payloadLimitBytes: limit });
    const h = await zipped.start(child, { s: 'y'.repeat(5000) }, { id: 'pc-size-zip' });
    expect((await h.describe()).input).toEqual({ s: 'y'.repeat(5000) });
    await zipped.close();
  });

  test('CLI: show decodes with LEASEFLOW_PAYLOAD_KEYS and prints "encrypted (key k2)" without', async () => {
    const run = async (args: string[], env: NodeJS.ProcessEnv) => {
      let out = '';
      let err = '';
      const io: Io = { out: (t) => { out += t; }, err: (t) => { err += t; }, env, isTTY: false, readStdin: async () => '' };
      const code = await runCli(args, io);
      return { code, out, err };
    };
    const keys = `k1=${K1.toString('base64')},k2=${K2.toString('base64')}`;
    const withKeys = await run(['show', 'pc-rotate', '--json', '--db', ctx.url], { LEASEFLOW_PAYLOAD_KEYS: keys, LEASEFLOW_PAYLOAD_KEY_ID: 'k2' });
    expect(withKeys.err).toBe('');
    expect(withKeys.out).toContain(SECRET.input);
    expect(withKeys.out).toContain(SECRET.signal);
    const without = await run(['show', 'pc-rotate', '--json', '--db', ctx.url], {});
    expect(without.code).toBe(0);
    expect(without.out).not.toContain(SECRET.input);
    expect(without.out).toContain('encrypted (key k1)');
    expect(without.out).toContain('encrypted (key k2)');
    const text = await run(['show', 'pc-rotate', '--db', ctx.url], {});
    expect(text.code).toBe(0);
    expect(text.out).toContain('encrypted (key k');
    // A malformed key setting is a usage error, not a crash.
    const bad = await run(['show', 'pc-rotate', '--db', ctx.url], { LEASEFLOW_PAYLOAD_KEYS: 'k1=short' });
    expect(bad.code).toBe(2);
    expect(bad.err).toContain('32 bytes');
  });
});
