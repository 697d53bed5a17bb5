#!/usr/bin/env bash
# CI step for the Galera cluster (the lead wires it into .ci/run after the main suites):
# installs haproxy/mariadb-backup when missing, starts the local three-node cluster (fresh data
# dirs), runs the engine's Galera tests against the nodes and the quick cluster chaos pass on a fixed seed (≤ 5 min: 100 s main phase, 10 runners
# over 3 network namespaces), and takes the cluster down again. Needs root (namespaces, mariadbd
# --user=mysql). Exit status: that of the chaos run (0 = every invariant held); the last line
# says PASS or FAIL. Env: CLUSTER_CHAOS_SEED (default 1), CLUSTER_CHAOS_RUNNERS (default 10),
# LEASEFLOW_CLUSTER_DIR/_PORT.
set -uo pipefail
cd "$(dirname "$0")/../.."
seed="${CLUSTER_CHAOS_SEED:-1}"
runners="${CLUSTER_CHAOS_RUNNERS:-10}"
bash scripts/cluster/install.sh || { echo "cluster ci: FAIL (install)"; exit 1; }
npm run -s cluster -- down --purge >/dev/null 2>&1 || true
if ! npm run -s cluster -- up --fresh; then
  echo "cluster ci: FAIL (cluster did not start)"
  npm run -s cluster -- down --purge >/dev/null 2>&1 || true
  exit 1
fi
# The engine's Galera tests (test/integration/galera.test.ts): multi-writer, so they reach the
# nodes directly, not through the proxy; "required" makes a missing cluster a failure.
LEASEFLOW_TEST_GALERA=required LEASEFLOW_TEST_GALERA_NODES=127.0.0.1:4410,127.0.0.1:4420,127.0.0.1:4430 \
  node_modules/.bin/jest --ci test/integration/galera.test.ts
galera_rc=$?
[ "$galera_rc" -eq 0 ] && echo "cluster ci: galera tests passed" || echo "cluster ci: galera tests FAILED (exit $galera_rc)"
npm run -s chaos -- --cluster --seed "$seed" --runners "$runners"
rc=$?
[ "$galera_rc" -ne 0 ] && [ "$rc" -eq 0 ] && rc=$galera_rc
npm run -s cluster -- down --purge >/dev/null 2>&1 || true
if [ "$rc" -eq 0 ]; then echo "cluster ci: PASS (chaos --cluster --seed $seed --runners $runners)"; else echo "cluster ci: FAIL (chaos --cluster --seed $seed --runners $runners, exit $rc)"; fi
exit "$rc"
