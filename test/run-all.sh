#!/usr/bin/env bash
# Runs every test: unit, integration (real Postgres + NATS) and end-to-end (the five services as processes
# against the lab of real libvirt hosts). Needs what `infra/install-deps.sh` installs; brings the lab up itself.
set -euo pipefail
cd "$(dirname "$0")/.."
export NODE_OPTIONS="${NODE_OPTIONS:-} --max-old-space-size=4096"

log() { printf '\n== %s ==\n' "$*"; }

log "typecheck and build"
npx tsc -p tsconfig.json
npm run --silent build

log "lab: guest image and 2 hypervisor hosts"
bash infra/lab/image/build.sh
bash infra/lab/lab.sh up 2

log "tests"
# One jest run over the three projects, so the closing summary counts everything.
# --forceExit: a test file that leaves a socket open must not hold the CI run hostage after the summary.
npx jest --runInBand --ci --forceExit "$@"
