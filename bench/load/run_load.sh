#!/usr/bin/env bash
# Load benchmark of `cinefactor serve` with wrk (a benchmark, not a test): POST /api/v1/recommendations
# with 15 ratings per request, then GET /, while the server's RSS is sampled every second.
#   bench/load/run_load.sh [MODEL_FILE]
# Without MODEL_FILE a model is made first: `cinefactor data synth --preset $PRESET` and
# `cinefactor train --algo svd -k $RANK` in $WORK (kept for the next run).
# Environment (defaults): CINEFACTOR=build/ci/cinefactor PRESET=ml-25m RANK=64 WORK=/tmp/cinefactor-load
#   DURATION=60 (seconds of the recommendation run) HOME_DURATION=30 CONNECTIONS=8 WRK_THREADS=1
#   SERVER_THREADS=8 OUT=$WORK/results
# Needs wrk (scripts/install-deps --bench), curl and /usr/bin/python3.
set -euo pipefail
cd "$(dirname "$0")/../.."

CINEFACTOR=${CINEFACTOR:-build/ci/cinefactor}
PRESET=${PRESET:-ml-25m}
RANK=${RANK:-64}
WORK=${WORK:-/tmp/cinefactor-load}
DURATION=${DURATION:-60}
HOME_DURATION=${HOME_DURATION:-30}
CONNECTIONS=${CONNECTIONS:-8}
WRK_THREADS=${WRK_THREADS:-1}
SERVER_THREADS=${SERVER_THREADS:-8}
OUT=${OUT:-$WORK/results}
BODIES=20  # distinct request bodies, cycled through

for tool in wrk curl /usr/bin/python3; do
  command -v "$tool" >/dev/null || { echo "run_load: $tool is not installed (scripts/install-deps --bench)" >&2; exit 2; }
done
[ -x "$CINEFACTOR" ] || { echo "run_load: $CINEFACTOR not built (cmake --build build/ci --target cinefactor)" >&2; exit 2; }
mkdir -p "$WORK" "$OUT"

model=${1:-}
if [ -z "$model" ]; then
  model="$WORK/svd-$PRESET-k$RANK.cfm"
  if [ ! -f "$model" ]; then
    [ -f "$WORK/$PRESET/ratings.csv" ] || { echo "== generating the synthetic $PRESET dataset"; \
      /usr/bin/time -f "   %e s, %M KiB max RSS" "$CINEFACTOR" -q data synth --preset "$PRESET" --out "$WORK/$PRESET"; }
    echo "== training svd k=$RANK"
    /usr/bin/time -f "   %e s, %M KiB max RSS" "$CINEFACTOR" train --data "$WORK/$PRESET" --algo svd -k "$RANK" \
      --device cpu --out "$model"
  fi
fi

echo "== starting cinefactor serve on $model"
env -u TMDB_API_KEY -u TMDB_BEARER_TOKEN -u TMDB_READ_ACCESS_TOKEN "$CINEFACTOR" -q serve --model "$model" \
  --port 0 --poll 0 --threads "$SERVER_THREADS" --tmdb-cache "$WORK/tmdb" > "$OUT/serve.out" 2> "$OUT/serve.err" &
server=$!
rss_sampler=""
cleanup() {
  [ -n "$rss_sampler" ] && kill "$rss_sampler" 2>/dev/null || true
  kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
}
trap cleanup EXIT
url=""
for _ in $(seq 1 600); do
  url=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$OUT/serve.out" || true)
  [ -n "$url" ] && break
  kill -0 "$server" 2>/dev/null || { cat "$OUT/serve.err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { echo "run_load: the server did not start" >&2; exit 1; }
echo "   $url (pid $server)"

# Request bodies: 15 movies drawn from the 300 most rated, rated 0.5..5 (repeatable seeds).
bodies="$OUT/bodies.jsonl"
: > "$bodies"
for seed in $(seq 1 "$BODIES"); do
  curl -sf "$url/api/v1/movies/popular?size=15&pool=300&seed=$seed" | /usr/bin/python3 -c '
import json, sys
seed = int(sys.argv[1])
movies = json.load(sys.stdin)["movies"]
ratings = [{"movie_id": m["id"], "rating": 0.5 * (1 + (seed * 7 + i * 3) % 10)} for i, m in enumerate(movies)]
years = ["any", "new", "old"][seed % 3]
print(json.dumps({"ratings": ratings, "years": years, "n": 5}))' "$seed" >> "$bodies"
done
curl -sf -H 'Content-Type: application/json' --data "$(head -1 "$bodies")" "$url/api/v1/recommendations" > /dev/null

sample_rss() {  # seconds, RSS in KiB
  local start=$SECONDS
  while kill -0 "$server" 2>/dev/null; do
    echo "$((SECONDS - start)) $(awk '/^VmRSS/ {print $2}' /proc/$server/status)"
    sleep 1
  done
}
sample_rss > "$OUT/rss.txt" &
rss_sampler=$!

echo "== POST /api/v1/recommendations: ${DURATION}s, $CONNECTIONS connections, $WRK_THREADS wrk thread(s)"
CINEFACTOR_BODIES="$bodies" wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
  -s bench/load/recommend.lua "$url/api/v1/recommendations" | tee "$OUT/recommendations.txt"
echo "== GET /: ${HOME_DURATION}s, $CONNECTIONS connections"
wrk -t"$WRK_THREADS" -c"$CONNECTIONS" -d"${HOME_DURATION}s" --latency "$url/" | tee "$OUT/home.txt"
kill "$rss_sampler" 2>/dev/null || true
rss_sampler=""

/usr/bin/python3 - "$OUT/rss.txt" "$DURATION" <<'PY'
import sys
rows = [tuple(map(int, l.split())) for l in open(sys.argv[1]) if len(l.split()) == 2]
duration = int(sys.argv[2])
rec = [kib for t, kib in rows if t <= duration]
if rec:
    third = max(1, len(rec) // 3)
    first, last = sum(rec[:third]) / third, sum(rec[-third:]) / third
    print(f"== server RSS during the recommendation run: first third {first/1024:.1f} MiB, last third "
          f"{last/1024:.1f} MiB (change {100*(last-first)/first:+.1f} %), max {max(rec)/1024:.1f} MiB, {len(rec)} samples")
PY
curl -sf "$url/metrics" | grep -E '^cinefactor_http_requests_total' | sort > "$OUT/metrics.txt" || true
echo "== results in $OUT"
