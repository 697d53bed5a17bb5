/** UUIDv7 ids are well-formed, carry their millisecond and sort by creation time. */
import { uuidv7 } from '../../engine/uuid7';

test('a UUIDv7 has version 7, the RFC variant and its timestamp in the first 48 bits', () => {
  const id = uuidv7(0x0123456789ab);
  expect(id).toMatch(/^01234567-89ab-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test('ids made in later milliseconds sort after earlier ones, and ids are unique', () => {
  const ids = Array.from({ length: 200 }, (_, i) => uuidv7(1_700_000_000_000 + i));
  expect([...ids].sort()).toEqual(ids);
  expect(new Set(Array.from({ length: 1000 }, () => uuidv7())).size).toBe(1000);
});
