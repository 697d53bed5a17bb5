#!/usr/bin/env bash
# The consumer test (CI): pack leaseflow as it would be published, install the tarball into a
# fresh temporary app (offline from the npm cache), and prove a user's view of it:
#  - the app's own tsc (`tsc --init` defaults: strict, skipLibCheck, verbatimModuleSyntax…) compiles
#    test/consumer/main.ts against the package in four module modes — CJS nodenext (import =
#    require), CJS node16, ESM nodenext, ESM bundler — and plain node runs each on SQLite (CJS
#    node16 and ESM nodenext on MariaDB too): open the store, start a runner, submit, await the
#    result, shut down;
#  - the installed `leaseflow` binary: a syntax error named by file:line:column, migrate --create,
#    a runner over .mjs/.cjs/.ts workflow modules (.ts through the app's tsx), start --wait,
#    stdin input, list --json, and SIGTERM draining the runner to exit 0.
# Prints the packed size and file count. Exits non-zero on the first failure.
# LEASEFLOW_TEST_MYSQL=off skips the MariaDB half (CI never sets it).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d -t leaseflow-consumer.XXXXXX)"
runner_pid=""
cleanup() {
  [ -n "$runner_pid" ] && kill -9 "$runner_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf 'consumer: %s\n' "$*"; }
mysql_base="${LEASEFLOW_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306}"
dialects=(sqlite)
[ "${LEASEFLOW_TEST_MYSQL:-on}" = off ] || dialects+=(mysql)
tag="$(printf '%s' "$root" | sha1sum | cut -c1-6)"
url_for() { # url_for DIALECT NAME
  if [ "$1" = sqlite ]; then echo "sqlite:$work/$2.db"; else echo "$mysql_base/lfc_${tag}_$2"; fi
}
drop_mysql() { # leave no consumer database behind on the shared server
  [ "${LEASEFLOW_TEST_MYSQL:-on}" = off ] && return 0
  mariadb -h 127.0.0.1 -u root -e "$(for n in "$@"; do printf 'DROP DATABASE IF EXISTS lfc_%s_%s;' "$tag" "$n"; done)" 2>/dev/null || true
}

t=$SECONDS
(cd "$root" && npm run -s build >&2)
pack_json="$(cd "$root" && npm pack --ignore-scripts --json --pack-destination "$work" 2>/dev/null)"
tarball="$work/$(node -e 'const p=JSON.parse(process.argv[1])[0]; process.stdout.write(p.filename)' "$pack_json")"
node -e '
  const p = JSON.parse(process.argv[1])[0];
  const bad = p.files.map((f) => f.path).filter((f) => /(^|\/)(test|bench|scripts)\//.test(f) || (/\.ts$/.test(f) && !/\.d\.m?ts$/.test(f)));
  console.log(`consumer: packed ${p.filename}: ${(p.size / 1024).toFixed(0)} KiB packed, ${(p.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${p.entryCount} files`);
  if (bad.length) { console.error(`consumer: the package ships sources/tests: ${bad.slice(0, 5).join(", ")}`); process.exit(1); }
  for (const need of ["dist/engine/index.js", "dist/engine/index.mjs", "dist/engine/index.d.ts", "dist/engine/index.d.mts", "dist/testing/index.js", "bin/leaseflow.js", "LICENSE", "README.md"]) {
    if (!p.files.some((f) => f.path === need)) { console.error(`consumer: the package lacks ${need}`); process.exit(1); }
  }
  if (!p.files.some((f) => /^dist\/engine\/store\/migrations\/(mysql|sqlite)\/Migration.*\.js$/.test(f.path))) { console.error("consumer: no compiled migrations"); process.exit(1); }
' "$pack_json"
say "pack took $((SECONDS - t)) s"

t=$SECONDS
app="$work/app"
mkdir -p "$app"
printf '{ "name": "consumer-app", "private": true }\n' > "$app/package.json"
ts_version="$(node -p "require('$root/node_modules/typescript/package.json').version")"
node_types="$(node -p "require('$root/node_modules/@types/node/package.json').version")"
tsx_version="$(node -p "require('$root/node_modules/tsx/package.json').version")"
(cd "$app" && npm install --prefer-offline --no-audit --no-fund --loglevel=error "$tarball" "typescript@$ts_version" "@types/node@$node_types" "tsx@$tsx_version" >/dev/null)
say "npm install (tarball, typescript, tsx) took $((SECONDS - t)) s"
tsc="$app/node_modules/.bin/tsc"

# variant NAME TYPE SOURCE DIALECTS TSC_FLAGS... (DIALECTS: "all", or "sqlite" to keep CI time
# down: the module mode decides how the package loads, not the store; two modes run on both)
variant() {
  local name="$1" type="$2" source="$3" which="$4"; shift 4
  local on=("${dialects[@]}")
  [ "$which" = all ] || on=(sqlite)
  local dir="$app/$name"
  mkdir -p "$dir/src"
  if [ "$type" = module ]; then printf '{ "type": "module" }\n' > "$dir/package.json"; else printf '{ "type": "commonjs" }\n' > "$dir/package.json"; fi
  if [ "$source" = require ]; then
    # The same app written the CommonJS way TypeScript allows under verbatimModuleSyntax.
    node -e '
      const fs = require("fs");
      const text = fs.readFileSync(process.argv[1], "utf8")
        .replace(/^import \{ ([^}]*) \} from .leaseflow.;$/m, (_, names) => "import leaseflow = require(\"leaseflow\");\n" +
          `const { ${names.split(",").map((n) => n.trim()).filter((n) => !n.startsWith("type ")).join(", ")} } = leaseflow;\n` +
          "type WorkflowHandle<O> = leaseflow.WorkflowHandle<O>;")
        .replace(/^import \{ openTestDatabase \} from .leaseflow\/testing.;$/m, "import testing = require(\"leaseflow/testing\");\nconst { openTestDatabase } = testing;");
      if (!text.includes("require(\"leaseflow\")") || !text.includes("require(\"leaseflow/testing\")")) throw new Error("consumer: rewriting main.ts failed");
      fs.writeFileSync(process.argv[2], text);
    ' "$root/test/consumer/main.ts" "$dir/src/main.ts"
  else
    cp "$root/test/consumer/$source" "$dir/src/main.ts"
  fi
  (cd "$dir" && "$tsc" --init >/dev/null && "$tsc" -p . --rootDir src --outDir dist --types node "$@") || { say "FAILED: tsc of $name"; exit 1; }
  for d in "${on[@]}"; do
    local url; url="$(url_for "$d" "$name")"
    "$app/node_modules/.bin/leaseflow" migrate --create --db "$url" >/dev/null
    local out; out="$(cd "$dir" && node dist/main.js "$url" 2>&1)" || { echo "$out"; say "FAILED: $name on $d"; exit 1; }
    grep -qx 'ok hello consumer!' <<<"$out" || { echo "$out"; say "FAILED: $name on $d printed the wrong thing"; exit 1; }
  done
  say "$name: compiled by the app's tsc and ran on ${on[*]}"
}
t=$SECONDS
drop_mysql cjs_nodenext cjs_node16 esm_nodenext esm_bundler bin
variant cjs_nodenext commonjs require sqlite
variant cjs_node16 commonjs main.ts all --module node16 --moduleResolution node16 --verbatimModuleSyntax false
variant esm_nodenext module main.ts all
variant esm_bundler module main.ts sqlite --module esnext --moduleResolution bundler
say "apps took $((SECONDS - t)) s"

# The installed binary, as an operator runs it.
t=$SECONDS
bin="$app/node_modules/.bin/leaseflow"
mkdir -p "$app/workflows"
cp "$root/test/consumer/greet.mjs" "$root/test/consumer/helpers.cjs" "$root/test/consumer/farewell.ts" "$app/workflows/"
printf 'export const a = 1;\nexport const b = {\n  x: 1 2,\n};\n' > "$app/broken.mjs"
err="$(cd "$app" && "$bin" start x --workflows broken.mjs 2>&1)" && { say "FAILED: a broken module loaded"; exit 1; }
grep -q 'syntax error in workflow module broken.mjs:3:8' <<<"$err" || { echo "$err"; say "FAILED: the syntax error does not name file:line:column"; exit 1; }
for d in "${dialects[@]}"; do
  url="$(url_for "$d" bin)"
  (cd "$app" && "$bin" list --db "$url" >/dev/null 2>&1) && { say "FAILED: list on a missing $d database succeeded"; exit 1; }
  (cd "$app" && "$bin" migrate --create --db "$url" >/dev/null)
  (cd "$app" && exec "$bin" runner --db "$url" --workflows workflows --poll-interval 100ms >"$work/runner-$d.log" 2>&1) &
  runner_pid=$!
  out="$(cd "$app" && "$bin" start greet --db "$url" --workflows workflows --input '{"name":"bin"}' --wait --timeout 60s)" || { cat "$work/runner-$d.log"; say "FAILED: start --wait on $d"; exit 1; }
  [ "$out" = '"hello bin!"' ] || { say "FAILED: start --wait printed $out"; exit 1; }
  out="$(cd "$app" && echo '{"text":"quiet"}' | "$bin" start shout --db "$url" --input - --wait --json)"
  node -e 'const r=JSON.parse(process.argv[1]); if (r.status!=="completed"||r.output!=="QUIET") process.exit(1)' "$out" || { say "FAILED: shout printed $out"; exit 1; }
  out="$(cd "$app" && "$bin" start farewell --db "$url" --workflows workflows --input '{"name":"ts"}' --wait)"
  [ "$out" = '"bye ts"' ] || { say "FAILED: the TypeScript workflow printed $out"; exit 1; }
  [ "$(cd "$app" && "$bin" list --db "$url" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).executions.length))')" = 3 ] || { say "FAILED: list --json"; exit 1; }
  kill -TERM "$runner_pid"
  rc=0; wait "$runner_pid" || rc=$?
  runner_pid=""
  grep -q '"msg":"runner stopped"' "$work/runner-$d.log" && [ "$rc" = 0 ] || { cat "$work/runner-$d.log"; say "FAILED: the runner did not drain and exit 0 on SIGTERM ($d, exit $rc)"; exit 1; }
  say "binary on $d: migrate --create, runner over .mjs/.cjs/.ts modules, start --wait, stdin input, list --json, SIGTERM → drained, exit 0"
done
drop_mysql cjs_nodenext cjs_node16 esm_nodenext esm_bundler bin
say "binary took $((SECONDS - t)) s"
say "passed"
