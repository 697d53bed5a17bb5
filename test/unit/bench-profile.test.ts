/**
 * Issue 16's bench measurement helpers: the CPU-profile summariser (self time per function and
 * per module, restricted to the measured windows), the listening-socket parser that finds the
 * right mariadbd when several run, and the new command-line options.
 */
import { moduleOf, summariseProfiles, type CpuProfile } from '../../bench/lib/profile';
import { parseListenInodes } from '../../bench/lib/proc';
import { parseBenchArgs } from '../../bench/lib/options';

const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 9 });

/** Samples: a, a, b, (idle), a at t = 100, 200, 300, 400, 500 µs; each sample's time is the next delta. */
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)') },
    { id: 2, callFrame: frame('encode', 'file:///work/x/engine/serialization.ts') },
    { id: 3, callFrame: frame('query', 'file:///work/x/node_modules/knex/lib/raw.js') },
    { id: 4, callFrame: frame('(idle)') },
  ],
  startTime: 0,
  endTime: 600,
  samples: [2, 2, 3, 4, 2, 2],
  timeDeltas: [100, 100, 100, 100, 100, 100],
};

describe('CPU profile summary', () => {
  test('self time per function and per module, idle kept apart', () => {
    const s = summariseProfiles([profile]);
    expect(s.busy_ms).toBe(0); // 0.4 ms rounds to 0; the rows keep the decimals
    expect(s.top_functions[0]).toEqual({ name: 'encode engine/serialization.ts:10', self_ms: 0.3, pct: 75 });
    expect(s.top_functions[1]).toEqual({ name: 'query knex/lib/raw.js:10', self_ms: 0.1, pct: 25 });
    expect(s.by_module.map((r) => r.name)).toEqual(['engine/serialization.ts', 'knex']);
  });

  test('only samples inside the windows count', () => {
    const s = summariseProfiles([profile], [[250, 350]]); // the sample at t = 300 (knex)
    expect(s.top_functions).toEqual([{ name: 'query knex/lib/raw.js:10', self_ms: 0.1, pct: 100 }]);
  });

  test('modules: scoped packages, node internals, V8 pseudo-frames', () => {
    expect(moduleOf('file:///a/node_modules/@mikro-orm/knex/x.js', 'f')).toBe('@mikro-orm/knex');
    expect(moduleOf('node:internal/streams/x', 'f')).toBe('node:internal');
    expect(moduleOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(moduleOf('', 'writeBuffer')).toBe('(native)');
  });
});

describe('server pid by listening port', () => {
  test('picks the LISTEN sockets of the port from /proc/net/tcp text', () => {
    const text = [
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
      '   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000   100        0 4242 1 0',
      '   1: 0100007F:0CEA 0100007F:D0D0 01 00000000:00000000 00:00000000 00000000   100        0 4343 1 0',
      '   2: 0100007F:0CEB 00000000:0000 0A 00000000:00000000 00:00000000 00000000   100        0 4444 1 0',
    ].join('\n');
    expect(parseListenInodes(text, 3306)).toEqual(['4242']);
    expect(parseListenInodes(text, 3307)).toEqual(['4444']);
    expect(parseListenInodes(text, 5432)).toEqual([]);
  });
});

describe('bench options of issue 16', () => {
  test('warm-up, profile, scaling and claim queue', () => {
    expect(parseBenchArgs([])).toMatchObject({ warmup: 1000, profileDir: null, scaling: [1, 2, 4], claimQueued: 10_000 });
    expect(parseBenchArgs(['--profile']).profileDir).toBe('');
    expect(parseBenchArgs(['--profile', '/tmp/p', '--json'])).toMatchObject({ profileDir: '/tmp/p', json: true });
    expect(parseBenchArgs(['--profile', '--json']).profileDir).toBe('');
    expect(parseBenchArgs(['--warmup', '0', '--scaling', '1,3']).warmup).toBe(0);
    expect(parseBenchArgs(['--scaling', '1,3']).scaling).toEqual([1, 3]);
    expect(() => parseBenchArgs(['--scaling', '1,x'])).toThrow(/--scaling/);
  });
});
