/**
 * Cost of the payload door per stored value: encode + decode round trips of a small and a 2.6 KB
 * JSON value with no codec, AES-256-GCM, and deflate + AES-256-GCM, in-process (no database).
 * Prints one JSON line per case (µs per round trip, stored bytes).
 *   npx tsx bench/codecs.ts [--n 5000]
 */
import { randomBytes } from 'node:crypto';
import { PayloadDoor } from '../engine/codec/door';
import { aesGcmCodec, compressionCodec } from '../engine';
import { argValue } from './args';

/** Time `n` round trips of `value` through `door`. */
async function run(name: string, door: PayloadDoor, value: unknown, n: number) {
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await door.decodeValue(await door.encodeValue(value, 'x', 1 << 24));
  const us = ((performance.now() - t0) * 1000) / n;
  const size = Buffer.byteLength((await door.encodeValue(value, 'x', 1 << 24)) ?? '');
  process.stdout.write(`${JSON.stringify({ codec: name, json_bytes: JSON.stringify(value).length, stored_bytes: size, us_per_roundtrip: +us.toFixed(1) })}\n`);
}

/** Every case, one JSON line each. */
async function main(): Promise<void> {
  const n = Number(argValue('--n') ?? 5000);
  const aes = () => aesGcmCodec({ keys: { k1: randomBytes(32) }, currentKeyId: 'k1' });
  for (const v of [{ i: 42 }, { items: Array.from({ length: 100 }, (_, i) => ({ sku: `sku-${i}`, qty: i })) }]) {
    await run('none', new PayloadDoor(), v, n);
    await run('aes', new PayloadDoor([aes()]), v, n);
    await run('deflate+aes', new PayloadDoor([compressionCodec(), aes()]), v, n);
  }
}

void main();
