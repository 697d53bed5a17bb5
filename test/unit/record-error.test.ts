/**
 * Recording what workflow code threw never throws, whatever it threw.
 */
import { recordError } from '../../engine/errors';

function hostileValues(): [string, unknown][] {
  const circular = Object.create(null) as Record<string, unknown>;
  circular.self = circular;
  const badName = new Error('boom');
  Object.defineProperty(badName, 'name', { get() { throw new Error('name getter'); } });
  const badMessage = new Error('x');
  Object.defineProperty(badMessage, 'message', { get() { throw new Error('message getter'); } });
  const trap = new Proxy({}, { get() { throw new Error('trap'); }, getPrototypeOf() { throw new Error('proto trap'); }, ownKeys() { throw new Error('keys trap'); } });
  const { proxy: revoked, revoke } = Proxy.revocable(new Error('revoked'), {});
  revoke();
  const errorProxy = new Proxy(new Error('inner'), { get(t, k) { if (k === 'stack') throw new Error('stack trap'); return Reflect.get(t, k); } });
  return [
    ['a circular null-prototype object', circular],
    ['an Error whose name getter throws', badName],
    ['an Error whose message getter throws', badMessage],
    ['a Proxy whose every trap throws', trap],
    ['a revoked Proxy', revoked],
    ['an Error Proxy whose stack getter throws', errorProxy],
    ['a BigInt', 10n],
    ['a symbol', Symbol('s')],
    ['an object holding a BigInt', { n: 1n }],
    ['undefined', undefined],
  ];
}

describe('recordError', () => {
  test.each(hostileValues())('records %s without throwing, as JSON-safe strings', (_label, value) => {
    const rec = recordError(value);
    expect(typeof rec.name).toBe('string');
    expect(typeof rec.message).toBe('string');
    expect(() => JSON.stringify(rec)).not.toThrow();
  });

  test('keeps the name, message and code of an ordinary error', () => {
    const err = Object.assign(new TypeError('bad'), { code: 'E_BAD' });
    expect(recordError(err)).toMatchObject({ name: 'TypeError', message: 'bad', code: 'E_BAD' });
  });
});
