#!/usr/bin/env bash
# Reproduces the registry figures in docs/PERFORMANCE.md: demo generation + import on SQLite
# and PostgreSQL, the search index build, and lookup/search over HTTP with wrk.
# Usage: scripts/bench-registry.sh [ENTITIES]   (default 200000; needs sqlite3, wrk, PostgreSQL
# on 127.0.0.1:5432 with trust auth). Works in a temporary folder; drops its scratch database.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-200000}"
cargo build --release -q
amr="$PWD/target/release/amr"
work=$(mktemp -d)
trap 'pkill -f "serve --listen 127.0.0.1:18181" || true; rm -rf "$work"' EXIT
cd "$work"
pg=postgres://postgres@127.0.0.1:5432/amr_bench_registry

echo "== demo + import, SQLite"
/usr/bin/time -f "peak_rss_kb=%M" "$amr" --log warn --database-url "sqlite://$work/amr.db" demo --entities "$n"
echo "== search index build"
/usr/bin/time -f "peak_rss_kb=%M" "$amr" --log warn --database-url "sqlite://$work/amr.db" search reindex --dir "$work/search"
echo
echo "== demo + import, PostgreSQL"
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS amr_bench_registry" -c "CREATE DATABASE amr_bench_registry"
"$amr" --log warn --database-url "$pg" migrate >/dev/null
/usr/bin/time -f "peak_rss_kb=%M" "$amr" --log warn --database-url "$pg" demo --entities "$n"
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE amr_bench_registry WITH (FORCE)"

echo "== HTTP: lookup by code, name search, baseline /healthz"
sqlite3 amr.db "SELECT uscc FROM entities ORDER BY random() LIMIT 2000" > usccs.txt
sqlite3 amr.db "SELECT name FROM entities ORDER BY random() LIMIT 1000" > names.txt
python3 - "$work" <<'PY'
import sys, urllib.parse
w = sys.argv[1]
def lua(paths, out):
    body = ",".join('"%s"' % p for p in paths)
    open(out, "w").write("paths = {%s}\ncounter = 0\nrequest = function()\n  counter = counter + 1\n"
                         "  return wrk.format(\"GET\", paths[(counter %% #paths) + 1])\nend\n" % body)
lua(["/api/v1/entities/" + l.strip() for l in open(w + "/usccs.txt") if l.strip()], w + "/lookup.lua")
lua(["/api/v1/entities?q=" + urllib.parse.quote(l.strip()[2:5]) for l in open(w + "/names.txt") if l.strip()],
    w + "/search.lua")
PY
printf 'search_dir = "%s/search"\n' "$work" > amr.toml
"$amr" --log warn --config amr.toml --database-url "sqlite://$work/amr.db" serve --listen 127.0.0.1:18181 >/dev/null 2>&1 &
for _ in $(seq 1 50); do curl -sf http://127.0.0.1:18181/healthz >/dev/null && break; sleep 0.2; done
wrk -t2 -c32 -d15s --latency -s lookup.lua http://127.0.0.1:18181 | grep -E "Requests/sec|50%|99%"
wrk -t2 -c16 -d15s --latency -s search.lua http://127.0.0.1:18181 | grep -E "Requests/sec|50%|99%"
wrk -t2 -c32 -d10s --latency http://127.0.0.1:18181/healthz | grep -E "Requests/sec|50%|99%"
