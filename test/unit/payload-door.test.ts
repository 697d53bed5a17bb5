/**
 * The payload door without a database: round trips through AES-256-GCM and deflate, plain JSON
 * passes through, key rotation, relabelled or tampered payloads, unknown codecs and bad keys.
 */
import { randomBytes } from 'node:crypto';
import { PayloadDoor } from '../../engine/codec/door';
import { aesGcmCodec, compressionCodec, PayloadCodecError, UndecodablePayload, ValidationError } from '../../engine';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const door1 = new PayloadDoor([aesGcmCodec({ keys: { k1 }, currentKeyId: 'k1' })]);
const door2 = new PayloadDoor([compressionCodec({ minBytes: 10 }), aesGcmCodec({ keys: { k1, k2: k2.toString('hex') }, currentKeyId: 'k2' })]);
const plain = new PayloadDoor();

test('round trip, undefined stays SQL NULL, plain JSON rows stay readable', async () => {
  const v = { a: 1, s: 'héllo', list: [1, 2, 3], long: 'z'.repeat(500) };
  const stored = await door2.encodeValue(v, 'input', 1 << 20);
  expect(stored).toMatch(/^~lf1 deflate aes-256-gcm\/k2 [A-Za-z0-9+/=]+$/);
  expect(await door2.decodeValue(stored)).toEqual(v);
  expect(await door2.encodeValue(undefined, 'input', 100)).toBeNull();
  expect(await door2.decodeValue(null)).toBeUndefined();
  expect(await door2.decodeValue('{"old":true}')).toEqual({ old: true });
  expect(await plain.encodeValue(v, 'input', 1 << 20)).toBe(JSON.stringify(v));
  // Small payloads are not compressed: the stage is not recorded.
  expect(await door2.encodeValue(1, 'input', 1000)).toMatch(/^~lf1 aes-256-gcm\/k2 /);
});

test('rotation: k1 payloads read by the k1+k2 chain; k2 payloads not by k1 alone', async () => {
  const old = await door1.encodeValue('x', 'input', 1000);
  expect(await door2.decodeValue(old)).toBe('x');
  const fresh = await door2.encodeValue('y', 'input', 1000);
  await expect(door1.decodeValue(fresh)).rejects.toMatchObject({ code: 'PAYLOAD_CODEC', keyId: 'k2' });
  const shown = await door1.decodeForDisplay(fresh);
  expect(shown).toBeInstanceOf(UndecodablePayload);
  expect(String(shown)).toBe('encrypted (key k2)');
  expect(String(await plain.decodeForDisplay(fresh))).toBe('encrypted (key k2)');
});

test('a relabelled key id or a flipped byte is refused (authenticated)', async () => {
  const stored = (await door2.encodeValue('secret', 'input', 1000)) as string;
  const relabelled = stored.replace('aes-256-gcm/k2', 'aes-256-gcm/k1');
  await expect(door2.decodeValue(relabelled)).rejects.toBeInstanceOf(PayloadCodecError);
  const body = stored.slice(stored.lastIndexOf(' ') + 1);
  const raw = Buffer.from(body, 'base64');
  raw[raw.length - 1] ^= 1;
  await expect(door2.decodeValue(stored.replace(body, raw.toString('base64')))).rejects.toBeInstanceOf(PayloadCodecError);
  await expect(door2.decodeValue('~lf1 rot13 AAAA')).rejects.toThrow(/codec "rot13".*not in this process/);
  expect(String(await door2.decodeForDisplay('~lf1 rot13 AAAA'))).toBe('encoded (codec rot13)');
});

test('bad configuration is a ValidationError', () => {
  expect(() => aesGcmCodec({ keys: { k1: randomBytes(16) }, currentKeyId: 'k1' })).toThrow(ValidationError);
  expect(() => aesGcmCodec({ keys: { k1 }, currentKeyId: 'k9' })).toThrow(ValidationError);
  expect(() => aesGcmCodec({ keys: { 'bad id': k1 } })).toThrow(ValidationError);
  expect(() => new PayloadDoor([compressionCodec(), compressionCodec()])).toThrow(ValidationError);
});

test('errors are cut so that their encoded form fits the limit', async () => {
  const stored = await door1.encodeError({ name: 'Error', message: 'm'.repeat(50_000) }, 4096);
  expect(Buffer.byteLength(stored)).toBeLessThanOrEqual(4096);
  expect(((await door1.decodeValue(stored)) as { message: string }).message).toMatch(/truncated/);
});
