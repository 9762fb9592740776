#!/usr/bin/env bash
# The database baseline of the draw figure in docs/PERFORMANCE.md: the same synthetic targets
# and the same plan as `amr inspect bench`, drawn by PostgreSQL alone with
# `ORDER BY random() LIMIT n` per task and credit-risk class (the sizes the engine computed).
#
# Usage: scripts/bench-draw-pg.sh [TARGETS] [TASKS] [RUNS] [WORKDIR]
#   TARGETS  default 15000000; TASKS default 100; RUNS default 3 (the median is reported)
#   WORKDIR  default a temporary folder, removed at the end
# Needs PostgreSQL on 127.0.0.1:5432 with trust auth (scratch database amr_bench_draw, dropped at
# the end) and a release build of amr (built here if missing). AMR_BIN overrides the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-15000000}"
tasks="${2:-100}"
runs="${3:-3}"
amr="${AMR_BIN:-$PWD/target/release/amr}"
if [ ! -x "$amr" ]; then cargo build --release -q -p amr-cli; fi
if [ -n "${4:-}" ]; then work="$4"; mkdir -p "$work"; keep=1; else work=$(mktemp -d); keep=0; fi
pg="postgres://postgres@127.0.0.1:5432"
cleanup() {
  psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS amr_bench_draw WITH (FORCE)" >/dev/null 2>&1 || true
  if [ "$keep" = 0 ]; then rm -rf "$work"; fi
}
trap cleanup EXIT

echo "== engine: amr inspect bench ($n targets, $tasks tasks, one run) and the baseline's files"
"$amr" --log warn inspect bench --targets "$n" --tasks "$tasks" --runs 1 --pg-out "$work"

echo "== PostgreSQL: load the same targets with COPY"
psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS amr_bench_draw WITH (FORCE)" -c "CREATE DATABASE amr_bench_draw"
db="$pg/amr_bench_draw"
psql -q "$db" -c "CREATE UNLOGGED TABLE bench_targets (uscc text COLLATE \"C\" PRIMARY KEY, division text COLLATE \"C\" NOT NULL, entity_type text NOT NULL, industry text COLLATE \"C\" NOT NULL, risk char(1) NOT NULL, tags text[] NOT NULL)"
start=$(date +%s.%N)
psql -q "$db" -c "\\copy bench_targets FROM '$work/targets.csv' WITH (FORMAT csv)"
psql -q "$db" -c "ANALYZE bench_targets"
end=$(date +%s.%N)
python3 -c "print(f'COPY + ANALYZE: {$end-$start:.1f} s')"
psql -q "$db" -tAc "SELECT pg_size_pretty(pg_total_relation_size('bench_targets'))"

echo "== PostgreSQL: ORDER BY random() LIMIT n per task and class ($(wc -l < "$work/queries.sql") queries), $runs runs"
times=()
for r in $(seq 1 "$runs"); do
  start=$(date +%s.%N)
  psql -q "$db" -f "$work/queries.sql" > /dev/null
  end=$(date +%s.%N)
  t=$(python3 -c "print(f'{$end-$start:.2f}')")
  echo "run $r: $t s"
  times+=("$t")
done
python3 -c "import statistics,sys; print(f'median: {statistics.median(map(float, sys.argv[1:])):.2f} s')" "${times[@]}"
if [ "$keep" = 1 ]; then echo "kept: $work"; fi
