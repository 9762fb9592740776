#!/usr/bin/env bash
# Reproduces the registry figures in docs/PERFORMANCE.md: demo generation + import on SQLite
# and PostgreSQL, the search index build, and lookup/search over HTTP with wrk, each beside a
# baseline measured in the same run.
#
# Usage: scripts/bench-registry.sh [ENTITIES] [WORKDIR]
#   ENTITIES  default 200000; the registry issue's figures are at 15000000 (about 9 GB of
#             SQLite, 4 GB of index and 12 GB of PostgreSQL; an hour in all on 2 cores).
#   WORKDIR   default a temporary folder, removed at the end; give one to keep the databases.
# Needs sqlite3, wrk, python3, and PostgreSQL on 127.0.0.1:5432 with trust auth (its scratch
# database amr_bench_registry is dropped at the end). SKIP_PG=1 leaves PostgreSQL out.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-200000}"
cargo build --release -q -p amr-cli
amr="$PWD/target/release/amr"
if [ -n "${2:-}" ]; then work="$2"; mkdir -p "$work"; keep=1; else work=$(mktemp -d); keep=0; fi
cleanup() {
  pkill -f "serve --listen 127.0.0.1:18181" || true
  if [ "$keep" = 0 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
cd "$work"
rm -rf amr.db amr.db-wal amr.db-shm search search.*
pg=postgres://postgres@127.0.0.1:5432/amr_bench_registry
timed() { /usr/bin/time -f "wall_s=%e peak_rss_kb=%M" "$@"; }

echo "== demo generation + import, SQLite ($n entities)"
timed "$amr" --log warn --database-url "sqlite://$work/amr.db" demo --entities "$n" --no-addresses

echo "== baseline: the sqlite3 shell's .import of 1,000,000 of the same rows into the same table and page size, no secondary indexes"
sample=$(( n < 1000000 ? n : 1000000 ))
sqlite3 -csv amr.db "SELECT uscc, name, entity_type, legal_rep, legal_rep_id, phone, capital_yuan, established, address, division, scope, industry, status, created_at, updated_at FROM entities LIMIT $sample" > sample.csv
rm -f base.db*
sqlite3 amr.db ".schema entities" | sed -n '/CREATE TABLE entities/,/);/p' > base.sql
# the same page size as the database amr made
sqlite3 base.db "PRAGMA page_size=$(sqlite3 amr.db 'PRAGMA page_size')" "PRAGMA journal_mode=WAL" "PRAGMA synchronous=NORMAL" ".read base.sql" > /dev/null
start=$(date +%s.%N)
sqlite3 base.db "PRAGMA synchronous=NORMAL" ".mode csv" ".import sample.csv entities"
end=$(date +%s.%N)
python3 -c "print(f'sqlite3 .import: {$sample/($end-$start):,.0f} rows/s')"
rm -f base.db* sample.csv base.sql

echo "== search index build ($n entities)"
timed "$amr" --log warn --database-url "sqlite://$work/amr.db" search reindex --dir "$work/search" 2>&1 | tr '\r' '\n' | tail -2
echo "== baseline: reading the indexed columns alone, sqlite3 shell"
start=$(date +%s.%N)
sqlite3 amr.db "SELECT uscc, name, scope, division, entity_type, status FROM entities" > /dev/null
end=$(date +%s.%N)
python3 -c "print(f'read: {$n/($end-$start):,.0f} rows/s')"
du -sh amr.db search

if [ "${SKIP_PG:-0}" != 1 ]; then
  echo "== demo generation + import, PostgreSQL ($n entities, COPY)"
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS amr_bench_registry" -c "CREATE DATABASE amr_bench_registry"
  "$amr" --log warn --database-url "$pg" migrate >/dev/null
  timed "$amr" --log warn --database-url "$pg" demo --entities "$n" --no-addresses
  psql -q -h 127.0.0.1 -U postgres -d amr_bench_registry -c "SELECT pg_size_pretty(pg_database_size('amr_bench_registry'))"
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE amr_bench_registry WITH (FORCE)"
fi

echo "== address risk counts for the loaded registry (so the server's address follower has nothing to replay)"
timed "$amr" --log warn --database-url "sqlite://$work/amr.db" address risk rebuild 2>&1 | tr '\r' '\n' | tail -2

echo "== HTTP: lookup by code, name search, baseline /healthz"
sqlite3 amr.db "SELECT uscc FROM entities WHERE rowid IN (SELECT abs(random()) % (SELECT max(rowid) FROM entities) + 1 FROM generate_series(1, 2200)) LIMIT 2000" > usccs.txt 2>/dev/null \
  || sqlite3 amr.db "SELECT uscc FROM entities ORDER BY random() LIMIT 2000" > usccs.txt
sqlite3 amr.db "SELECT name FROM entities WHERE rowid IN (SELECT uscc_row FROM (SELECT abs(random()) % (SELECT max(rowid) FROM entities) + 1 AS uscc_row FROM generate_series(1, 1100))) LIMIT 1000" > names.txt 2>/dev/null \
  || sqlite3 amr.db "SELECT name FROM entities ORDER BY random() LIMIT 1000" > names.txt
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
for _ in $(seq 1 300); do curl -sf http://127.0.0.1:18181/healthz >/dev/null && break; sleep 0.2; done
# Warm the page cache the way a running server is warm, then measure.
wrk -t2 -c32 -d5s -s lookup.lua http://127.0.0.1:18181 >/dev/null
for round in 1 2 3; do
  echo "-- round $round: lookup, search, /healthz"
  wrk -t2 -c32 -d15s --latency -s lookup.lua http://127.0.0.1:18181 | grep -E "Requests/sec|50%|99%|Non-2xx"
  wrk -t2 -c16 -d15s --latency -s search.lua http://127.0.0.1:18181 | grep -E "Requests/sec|50%|99%|Non-2xx"
  wrk -t2 -c32 -d10s --latency http://127.0.0.1:18181/healthz | grep -E "Requests/sec|50%|99%"
done
