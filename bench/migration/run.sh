#!/usr/bin/env bash
# Migration benchmark: builds the bench (tsc, into dist/.bench-migration — never over dist/libs), then runs the matrix
# in chunks — one storage kind × one bandwidth per chunk, each under the lab lock (flock /tmp/lab.lock, each well
# under 10 minutes, the lock is released between chunks) — and prints the joined tables and the summary.
#
#   bash bench/migration/run.sh                  # the default matrix (see README.md; ~16 min)
#   bash bench/migration/run.sh --full           # + copy storage, 20 MiB/s, random writer (~21 min)
#   bash bench/migration/run.sh --quick          # one chunk: idle uncapped, word and random at 20 MiB/s, shared (~6 min)
#   bash bench/migration/run.sh -- OPTIONS...    # one chunk with run.js's own options (see --help), e.g.
#   bash bench/migration/run.sh -- --cases idle/none/shared --strategies precopy --idle-runs 3
#
# Env: BENCH_CHUNKS (STORAGE/BANDWIDTH[/WORKLOADS] each; default "shared/none shared/20 copy/none copy/20/idle,word"),
# BENCH_OPTS (added to every chunk),
# BENCH_OUT (results directory, default /tmp/bench-migration-<date>), LAB_LOCK (default /tmp/lab.lock).
# Needs the lab (infra/lab/lab.sh up 2) and its guest image. Exit 0 when every target passed.
set -euo pipefail
cd "$(dirname "$0")/../.."
LOCK=${LAB_LOCK:-/tmp/lab.lock}
OUT=${BENCH_OUT:-/tmp/bench-migration-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$OUT"
npx tsc -p bench/migration/tsconfig.json
export OTEL_SDK_DISABLED=${OTEL_SDK_DISABLED:-true} OTEL_TRACES_EXPORTER=${OTEL_TRACES_EXPORTER:-none}
RUN=(node -r ./bench/migration/register-paths.js dist/.bench-migration/bench/migration/run.js)
flock "$LOCK" infra/lab/image/build.sh

chunk() { # name, then run.js options
  local name=$1
  shift
  echo "== chunk $name: $* (waiting for $LOCK)" >&2
  # A chunk that fails (or misses a target) still leaves its results; the joined report decides.
  flock "$LOCK" "${RUN[@]}" --json "$OUT/$name.jsonl" "$@" >"$OUT/$name.txt" || true
  tail -n 3 "$OUT/$name.txt" >&2
}

# shellcheck disable=SC2086
if [[ ${1:-} == --quick ]]; then
  chunk quick --quick ${BENCH_OPTS:-}
elif [[ ${1:-} == -- ]]; then
  shift
  chunk custom "$@" ${BENCH_OPTS:-}
else
  default="shared/none shared/20 copy/none copy/20/idle,word"
  [[ ${1:-} == --full ]] && default="shared/none shared/20 copy/none copy/20"
  for c in ${BENCH_CHUNKS:-$default}; do
    IFS=/ read -r storage bw workloads <<<"$c"
    chunk "$storage-$bw" --storage "$storage" --bandwidths "$bw" --workloads "${workloads:-idle,word,random}" ${BENCH_OPTS:-}
  done
fi
echo "== results: $OUT" >&2
"${RUN[@]}" --report "$OUT"/*.jsonl | tee "$OUT/report.txt"
