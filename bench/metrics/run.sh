#!/usr/bin/env bash
# Metrics benchmark: builds the collector and the bench (tsc, into dist/), then runs
#   ingest  — simulated host.metrics streams through a private nats-server into a throwaway Postgres database
#   collect — collection cost on the lab (time and bytes per round per host; needs `infra/lab/lab.sh up 2`)
# Usage: bash bench/metrics/run.sh [ingest|collect|all] (default all). Env: BENCH_SECONDS (per scenario, default 30),
# BENCH_SCENARIOS (e.g. "1000@10,10000@1"), BENCH_ROUNDS (collect, default 20).
set -euo pipefail
cd "$(dirname "$0")/../.."
what=${1:-all}
npx tsc -p bench/metrics/tsconfig.json
export OTEL_SDK_DISABLED=${OTEL_SDK_DISABLED:-true}
if [[ $what == ingest || $what == all ]]; then node -r ./tools/register-paths.js dist/bench/metrics/ingest.js; fi
if [[ $what == collect || $what == all ]]; then node -r ./tools/register-paths.js dist/bench/metrics/collect.js; fi
