/**
 * The proxy's `show sess all` answer, parsed into (client address, proxy address towards the
 * node): what lets the cluster chaos run tell which node session belongs to which runner.
 */
import { parseProxySessions } from '../../scripts/cluster/proxy';

// Two sessions as HAProxy 2.6 prints them (abridged: the lines the parser does not read trimmed).
const ANSWER = `0x5563289a7ce0: [30/Nov/2026:17:55:07.351627] id=9 proto=tcpv4 source=10.231.2.2:33304
  flags=0x4a, conn_retries=0, conn_exp=<NEVER> conn_et=0x000 srv_conn=0x5563288e6c50, pend_pos=(nil) waiting=0 epoch=0
  frontend=galera (id=2 mode=tcp), listener=? (id=1) addr=10.231.2.1:4400
  backend=galera (id=2 mode=tcp) addr=127.0.0.1:34184
  server=node1 (id=1) addr=127.0.0.1:4410
  task=0x7fd740032d70 (state=0x00 nice=0 calls=3 rate=0 exp=59m55s tmask=0x1 age=4s)
0x556328adac90: [30/Nov/2026:17:55:07.382338] id=10 proto=tcpv4 source=127.0.0.1:33312
  flags=0x4a, conn_retries=0, conn_exp=<NEVER> conn_et=0x000 srv_conn=0x5563288e6c50, pend_pos=(nil) waiting=0 epoch=0
  frontend=galera-harness (id=3 mode=tcp), listener=? (id=1) addr=127.0.0.1:4401
  backend=galera-harness (id=3 mode=tcp) addr=127.0.0.2:34190
  server=node1 (id=1) addr=127.0.0.1:4410
0x556328adacff: [30/Nov/2026:17:55:07.390000] id=11 proto=tcpv4 source=10.231.3.2:40000
  flags=0x4a, conn_retries=0, conn_exp=<NEVER> conn_et=0x000 srv_conn=(nil), pend_pos=(nil) waiting=0 epoch=0
  frontend=galera (id=2 mode=tcp), listener=? (id=1) addr=10.231.3.1:4400
  backend=<NONE> (id=-1 mode=-)
  server=<NONE> (id=-1)
`;

describe('proxy sessions', () => {
  test('each session pairs its client address with the proxy address the node sees; one not yet connected is left out', () => {
    expect(parseProxySessions(ANSWER)).toEqual([
      { source: '10.231.2.2:33304', backend: '127.0.0.1:34184' },
      { source: '127.0.0.1:33312', backend: '127.0.0.2:34190' },
    ]);
  });

  test('an empty answer has no sessions', () => {
    expect(parseProxySessions('')).toEqual([]);
  });
});
