#!/usr/bin/env bash
# Scheduler benchmark: builds the bench and the scheduler service it runs (tsc, into dist/.bench-scheduler — never
# over the shared dist/), then runs the matrix. Options go to run.js, e.g.
#   bash bench/scheduler/run.sh --requests 50000 --hosts 1000,10000 --replicas 1,3 --policy least-loaded,pack
set -euo pipefail
cd "$(dirname "$0")/../.."
npx tsc -p bench/scheduler/tsconfig.json
export OTEL_SDK_DISABLED=${OTEL_SDK_DISABLED:-true} OTEL_TRACES_EXPORTER=${OTEL_TRACES_EXPORTER:-none}
exec node -r ./bench/scheduler/register-paths.js dist/.bench-scheduler/bench/scheduler/run.js "$@"
