/**
 * Galera health agent for HAProxy (used by docker-compose.galera.yml): one small HTTP listener
 * per node, on AGENT_BASE_PORT + i for the i-th entry of GALERA_NODES ("host:port,…"). It answers
 * 200 only when that node is Synced (wsrep_local_state = 4) in the Primary component, else 503:
 * a donor, a joiner or a node cut off from the majority accepts logins but must take no writes,
 * which `option mysql-check` cannot tell. Plain CommonJS so it runs in the runner image as is.
 */
'use strict';
const http = require('node:http');

/** The verdict for the rows of SHOW GLOBAL STATUS (name/value pairs). */
function isWritable(rows) {
  const m = new Map(rows.map((r) => [String(r.Variable_name ?? r[0]), String(r.Value ?? r[1])]));
  return m.get('wsrep_local_state') === '4' && m.get('wsrep_cluster_status') === 'Primary';
}

async function check(mariadb, host, port, password) {
  let conn;
  try {
    conn = await mariadb.createConnection({ host, port, user: 'root', password, connectTimeout: 1000 });
    const rows = await conn.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state', 'wsrep_cluster_status')");
    return isWritable(rows);
  } catch {
    return false;
  } finally {
    if (conn) conn.end().catch(() => undefined);
  }
}

function main() {
  const mariadb = require('mariadb');
  const nodes = String(process.env.GALERA_NODES ?? '').split(',').filter(Boolean);
  const base = Number(process.env.AGENT_BASE_PORT ?? 9200);
  const password = process.env.GALERA_ROOT_PASSWORD ?? '';
  nodes.forEach((node, i) => {
    const [host, port] = node.split(':');
    http.createServer((req, res) => {
      check(mariadb, host, Number(port ?? 3306), password).then((ok) => {
        res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
        res.end(ok ? 'synced\n' : 'not synced\n');
      });
    }).listen(base + i + 1);
  });
}

module.exports = { isWritable };
if (require.main === module) main();
