#!/usr/bin/env bash
# Starts, stops or shows the five minicloud services as background processes on this machine (no systemd needed).
#   infra/services.sh start|stop|restart|status [service...]
# Logs: $MINICLOUD_LOG_DIR (default /var/log/minicloud)/<service>.log (JSON lines). Pids: $MINICLOUD_RUN_DIR (/run/minicloud).
# Configuration comes from the environment (docs/architecture.md lists the variables).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LOG_DIR=${MINICLOUD_LOG_DIR:-/var/log/minicloud}
RUN_DIR=${MINICLOUD_RUN_DIR:-/run/minicloud}
ALL=(gateway scheduler provisioner metrics-collector migrator)
declare -A PORTS=([gateway]=8080 [scheduler]=8081 [provisioner]=8082 [metrics-collector]=8083 [migrator]=8084)

cmd=${1:-status}; shift || true

# On the local lab every "host" is a namespace of this machine and reports this machine's CPU and memory, so the
# scheduler's load caps would measure the controller itself. Real deployments keep the defaults (80 % / 85 %).
if [ -f "${MINICLOUD_LAB_DIR:-/var/lib/minicloud-lab}/lab.json" ]; then
  export SCHEDULER_MAX_CPU_PERCENT=${SCHEDULER_MAX_CPU_PERCENT:-100}
  export SCHEDULER_MAX_MEMORY_PERCENT=${SCHEDULER_MAX_MEMORY_PERCENT:-100}
fi
services=("$@"); [ ${#services[@]} -gt 0 ] || services=("${ALL[@]}")

alive() { [ -f "$RUN_DIR/$1.pid" ] && kill -0 "$(cat "$RUN_DIR/$1.pid")" 2>/dev/null; }

start_one() {
  local s=$1 port=${PORTS[$1]}
  if alive "$s"; then echo "$s: already running (pid $(cat "$RUN_DIR/$s.pid"))"; return; fi
  [ -f "dist/apps/$s/src/main.js" ] || { echo "dist/apps/$s is missing: run 'npm run build'" >&2; exit 1; }
  mkdir -p "$LOG_DIR" "$RUN_DIR"
  PORT=$port setsid nohup node -r ./tools/register-paths.js "dist/apps/$s/src/main.js" >>"$LOG_DIR/$s.log" 2>&1 < /dev/null &
  echo $! > "$RUN_DIR/$s.pid"
}

wait_ready() {
  local s=$1 port=${PORTS[$1]}
  for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then echo "$s: ready on :$port"; return 0; fi
    alive "$s" || { echo "$s: exited during start; last log lines:" >&2; tail -n 20 "$LOG_DIR/$s.log" >&2; return 1; }
    sleep 0.5
  done
  echo "$s: not ready after 60 s; see $LOG_DIR/$s.log" >&2; return 1
}

stop_one() {
  local s=$1
  if alive "$s"; then
    local pid; pid=$(cat "$RUN_DIR/$s.pid")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$pid" 2>/dev/null || true
    echo "$s: stopped"
  fi
  rm -f "$RUN_DIR/$s.pid"
}

case "$cmd" in
  start) for s in "${services[@]}"; do start_one "$s"; done; for s in "${services[@]}"; do wait_ready "$s"; done ;;
  stop) for s in "${services[@]}"; do stop_one "$s"; done ;;
  restart) for s in "${services[@]}"; do stop_one "$s"; done; for s in "${services[@]}"; do start_one "$s"; done; for s in "${services[@]}"; do wait_ready "$s"; done ;;
  status)
    for s in "${services[@]}"; do
      if alive "$s"; then printf '%-18s running  pid %-7s :%s  %s\n' "$s" "$(cat "$RUN_DIR/$s.pid")" "${PORTS[$s]}" "$(curl -s "http://127.0.0.1:${PORTS[$s]}/health/ready" || echo 'no answer')"
      else printf '%-18s stopped\n' "$s"; fi
    done ;;
  *) echo "usage: $0 start|stop|restart|status [service...]" >&2; exit 2 ;;
esac
