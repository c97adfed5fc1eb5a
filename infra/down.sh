#!/usr/bin/env bash
# Stops the services and tears the lab down (no namespace, bridge, daemon or VM is left behind).
set -euo pipefail
cd "$(dirname "$0")/.."
bash infra/services.sh stop
bash infra/lab/lab.sh down "$@"
