/**
 * Preloaded into every bench runner process (`node --require …/query-counter.cjs`) and loaded
 * by the bench itself: counts the MySQL protocol commands this process sends to the database
 * port, by command byte (3 = COM_QUERY, 23 = COM_STMT_EXECUTE, 14 = COM_PING, …), by parsing
 * the packets written to sockets whose remote port is BENCH_DB_PORT. Exact per process, so
 * unlike the server's GLOBAL STATUS it is blind to other clients of a shared server.
 * A parent asks with the IPC message {type:'bench:counts'} and gets {type:'bench:counts', counts,
 * memory} (memory: process.memoryUsage(), to tell a V8 heap that grows from RSS that does; with
 * {gc: true} and --expose-gc it collects garbage first, so heapUsed is what is retained).
 * Plain CommonJS on purpose: it loads before any TypeScript hook.
 */
'use strict';
const net = require('node:net');

let port = Number(process.env.BENCH_DB_PORT || 3306);
/** Commands sent, by command byte. */
const counts = Object.create(null);
/** Per socket: payload bytes of the current packet still to come, and a partial header. */
const state = new WeakMap();
/** BENCH_SQL_KINDS=1: also count statements by their first 40 characters (keys "sql:…"), to see what a workload sends. */
const KINDS = process.env.BENCH_SQL_KINDS === '1';
/** Bytes of a COM_QUERY's text read (enough for its first word, or the kind). */
const HEAD = KINDS ? 41 : 13;

function scan(sock, chunk) {
  let st = state.get(sock);
  if (!st) state.set(sock, (st = { skip: 0, partial: null, inTx: false }));
  let buf = st.partial ? Buffer.concat([st.partial, chunk]) : chunk;
  st.partial = null;
  let i = 0;
  while (i < buf.length) {
    if (st.skip > 0) {
      const take = Math.min(st.skip, buf.length - i);
      st.skip -= take;
      i += take;
      continue;
    }
    if (buf.length - i < 5) { st.partial = Buffer.from(buf.subarray(i)); return; }
    const len = buf[i] | (buf[i + 1] << 8) | (buf[i + 2] << 16);
    const seq = buf[i + 3];
    // A COM_QUERY's first word tells transactions apart: wait for up to 12 bytes of its text.
    if (seq === 0 && buf[i + 4] === 3 && buf.length - i < 4 + Math.min(len, HEAD)) { st.partial = Buffer.from(buf.subarray(i)); return; }
    if (seq === 0 && len > 0) {
      counts[buf[i + 4]] = (counts[buf[i + 4]] || 0) + 1;
      if (buf[i + 4] === 3) classify(st, buf.toString('latin1', i + 5, i + 4 + Math.min(len, HEAD)));
    }
    i += 4;
    st.skip = len;
  }
}

/**
 * Commits, counted on the client: COMMIT statements, plus every statement sent outside a
 * BEGIN … COMMIT that writes (INSERT/UPDATE/DELETE/REPLACE in autocommit: its own
 * transaction). Commits = counts.commit + counts.autocommit_write (COM_QUERY only).
 */
function classify(st, head) {
  if (KINDS) { const k = `sql:${head.replace(/\s+/g, ' ').slice(0, HEAD - 1)}`; counts[k] = (counts[k] || 0) + 1; }
  const word = /^\s*([A-Za-z]+)/.exec(head);
  const w = word ? word[1].toUpperCase() : '';
  if (w === 'BEGIN' || w === 'START') { st.inTx = true; counts.begin = (counts.begin || 0) + 1; return; }
  if (w === 'COMMIT') { st.inTx = false; counts.commit = (counts.commit || 0) + 1; return; }
  if (w === 'ROLLBACK') { st.inTx = false; counts.rollback = (counts.rollback || 0) + 1; return; }
  if (!st.inTx && (w === 'INSERT' || w === 'UPDATE' || w === 'DELETE' || w === 'REPLACE')) counts.autocommit_write = (counts.autocommit_write || 0) + 1;
}

const write = net.Socket.prototype.write;
net.Socket.prototype.write = function patchedWrite(chunk, ...rest) {
  try {
    if (this.remotePort === port && chunk instanceof Uint8Array) scan(this, chunk);
  } catch { /* never break the driver */ }
  return write.call(this, chunk, ...rest);
};

/** A copy of the counts so far. */
function snapshot() {
  return { ...counts };
}

if (typeof process.send === 'function') {
  process.on('message', (m) => {
    if (!m || m.type !== 'bench:counts') return;
    if (m.gc && typeof global.gc === 'function') global.gc(); // --expose-gc: measure what is retained, not garbage
    process.send({ type: 'bench:counts', counts: snapshot(), memory: process.memoryUsage() });
  });
  process.channel?.unref?.(); // listening must not keep the runner alive after it stopped
}

/** Count commands to this port from now on (the bench sets it from --db). */
function setPort(p) {
  port = Number(p);
}

module.exports = { snapshot, setPort };
