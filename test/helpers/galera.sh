#!/usr/bin/env bash
# A minimal 3-node MariaDB Galera cluster on this machine for the engine's Galera tests
# (TOOLCHAIN.md §9). Ports BASE+0..2 (SQL), BASE+10.. (gcomm/IST/SST); data under ROOT.
#   test/helpers/galera.sh up|down|status      env: GALERA_BASE (4500), GALERA_ROOT (/tmp/h15a-galera)
# The cluster tooling proper (HAProxy, kill/rejoin, netns) is scripts/cluster/; this one only
# needs nodes the tests can connect to directly.
set -euo pipefail
BASE=${GALERA_BASE:-4500}
ROOT=${GALERA_ROOT:-/tmp/h15a-galera}
N=3
sql_port() { echo $((BASE + $1 - 1)); }
g_port() { echo $((BASE + 10 + ($1 - 1) * 3)); }
cnf() { echo "$ROOT/node$1.cnf"; }

write_cnf() {
  local i=$1 addr="" j
  for j in $(seq 1 $N); do addr+="127.0.0.1:$(g_port "$j"),"; done
  local gp; gp=$(g_port "$i")
  cat >"$(cnf "$i")" <<CNF
[mariadbd]
port=$(sql_port "$i")
socket=$ROOT/node$i.sock
pid-file=$ROOT/node$i.pid
datadir=$ROOT/data$i
user=mysql
bind-address=127.0.0.1
log-error=$ROOT/node$i.err
skip-name-resolve
innodb_buffer_pool_size=64M
innodb_log_file_size=48M
max_connections=300
default_storage_engine=InnoDB
binlog_format=ROW
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=/usr/lib/galera/libgalera_smm.so
wsrep_cluster_name=h15a
wsrep_cluster_address=gcomm://${addr%,}
wsrep_provider_options="gmcast.listen_addr=tcp://127.0.0.1:$gp; ist.recv_addr=127.0.0.1:$((gp + 1)); gcache.size=32M"
wsrep_node_address=127.0.0.1:$gp
wsrep_sst_receive_address=127.0.0.1:$((gp + 2))
wsrep_sst_method=rsync
wsrep_sync_wait=1
CNF
}

q() { mariadb --socket="$ROOT/node$1.sock" -uroot -N -e "$2" 2>/dev/null; }

wait_synced() {
  local i=$1 t=0
  while [ $t -lt 600 ]; do
    [ "$(q "$i" "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='WSREP_LOCAL_STATE_COMMENT'" || true)" = Synced ] && return 0
    sleep 0.2; t=$((t + 1))
  done
  echo "node $i did not reach Synced; see $ROOT/node$i.err" >&2; return 1
}

start_node() {
  local i=$1; shift
  nohup mariadbd --defaults-file="$(cnf "$i")" "$@" >/dev/null 2>&1 &
  wait_synced "$i"
}

up() {
  if status >/dev/null 2>&1; then echo "already up"; return 0; fi
  down >/dev/null 2>&1 || true
  mkdir -p "$ROOT"; chown mysql:mysql "$ROOT"
  for i in $(seq 1 $N); do
    write_cnf "$i"
    mariadb-install-db --no-defaults --datadir="$ROOT/data$i" --user=mysql >/dev/null 2>&1
  done
  start_node 1 --wsrep-new-cluster
  # Root over TCP without a password, like the main server (tests connect as root@127.0.0.1).
  q 1 "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION" || true
  for i in $(seq 2 $N); do start_node "$i"; done
  status
}

down() {
  for i in $(seq 1 $N); do
    local pidf="$ROOT/node$i.pid"
    if [ -f "$pidf" ]; then kill "$(cat "$pidf")" 2>/dev/null || true; fi
  done
  for i in $(seq 1 $N); do
    local pidf="$ROOT/node$i.pid" t=0
    while [ -f "$pidf" ] && kill -0 "$(cat "$pidf" 2>/dev/null)" 2>/dev/null && [ $t -lt 150 ]; do sleep 0.2; t=$((t + 1)); done
  done
  rm -rf "$ROOT"
}

status() {
  local ok=0
  for i in $(seq 1 $N); do
    local s; s=$(q "$i" "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='WSREP_LOCAL_STATE_COMMENT'" || echo down)
    echo "node$i 127.0.0.1:$(sql_port "$i") $s"
    [ "$s" = Synced ] || ok=1
  done
  return $ok
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
