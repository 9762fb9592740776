#!/usr/bin/env bash
# The delivery figure of docs/PERFORMANCE.md: N events reach an agency that fails 30% of calls
# at random (half before applying, half after applying with the answer lost), while AMR is
# killed (SIGKILL) and restarted during the run. At the end the simulator's counts must show
# applied == N (each idempotency key applied once, repeats counted as duplicates) and AMR's
# deliveries must all be `done`.
#
# Usage: scripts/exchange-bench.sh [N] [AMR_BINARY] [KILL_AFTER_SECONDS]
#   e.g. cargo build --release -p amr-cli && scripts/exchange-bench.sh 100000 target/release/amr 20
set -euo pipefail
N=${1:-10000}
AMR=$(realpath "${2:-target/debug/amr}")
KILL_AFTER=${3:-5}
dir=$(mktemp -d)
export AMR_DATABASE_URL="sqlite://$dir/amr.db" AMR_SIGNING_KEY_FILE="$dir/keys/signing.key" AMR_LOG=warn
export AMR_EXCHANGE_BACKOFF_MS=${AMR_EXCHANGE_BACKOFF_MS:-200}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
SIM_PORT=$(free_port); AMR_PORT=$(free_port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

"$AMR" signing-key show > "$dir/keys.json"
"$AMR" agency-sim --port "$SIM_PORT" --name bench --kind other --fail-rate 0.3 --key-file "$dir/keys.json" > "$dir/sim.log" &
pids+=($!)
for _ in $(seq 50); do grep -q 'public key' "$dir/sim.log" 2>/dev/null && break; sleep 0.2; done
KEY=$(grep 'public key' "$dir/sim.log" | awk '{print $NF}')
"$AMR" exchange agency add --name bench --kind other --endpoint "http://127.0.0.1:$SIM_PORT/" \
  --subscribe bench. --public-key "$KEY" > /dev/null 2>&1
"$AMR" exchange emit --count "$N" --kind bench.exchange.tick

start=$(date +%s.%N)
"$AMR" serve --listen "127.0.0.1:$AMR_PORT" > "$dir/serve1.log" 2>&1 &
AMR_PID=$!; pids+=($AMR_PID)
sleep "$KILL_AFTER"
echo "before the kill: $("$AMR" exchange status) sim: $(curl -s "http://127.0.0.1:$SIM_PORT/stats")"
kill -9 "$AMR_PID"; wait "$AMR_PID" 2>/dev/null || true
echo "AMR killed after ${KILL_AFTER}s; restarting"
"$AMR" serve --listen "127.0.0.1:$AMR_PORT" > "$dir/serve2.log" 2>&1 &
pids+=($!)
while true; do
  status=$("$AMR" exchange status 2>/dev/null || echo '{}')
  done_n=$(echo "$status" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("done",0))')
  [ "$done_n" -ge "$N" ] && break
  sleep 2
done
end=$(date +%s.%N)
stats=$(curl -s "http://127.0.0.1:$SIM_PORT/stats")
echo "deliveries: $status"
echo "simulator:  $stats"
python3 - "$N" "$stats" "$start" "$end" <<'PY'
import json, sys
n, s, t0, t1 = int(sys.argv[1]), json.loads(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
ok = s["applied"] == n
print(f"N={n} applied={s['applied']} duplicates={s['duplicates']} failed_on_purpose={s['failed_on_purpose']} "
      f"received={s['received']} elapsed={t1-t0:.1f}s ({n/(t1-t0):.0f} events/s) -> {'OK' if ok else 'FAILED'}")
sys.exit(0 if ok else 1)
PY
