#!/usr/bin/env bash
# Registers hosts and images from two files through the REST API, then leaves the platform running.
#   infra/bootstrap.sh HOSTS_FILE IMAGES_FILE
# HOSTS_FILE: one address per line ("address", "address:port" or "user@address[:port]"); '#' comments and blank
# lines are ignored. IMAGES_FILE: one absolute image path per line; the image's name is the file name without its
# extension, and a kernel/initrd beside it (<stem>.vmlinuz, <stem>.initrd) makes it a direct-kernel-boot image.
# Starts the services first if they are not running. Exits non-zero if any line failed (after trying them all).
set -euo pipefail
cd "$(dirname "$0")/.."
hosts_file=${1:?usage: $0 HOSTS_FILE IMAGES_FILE}
images_file=${2:?usage: $0 HOSTS_FILE IMAGES_FILE}
API=${MINICLOUD_API:-http://127.0.0.1:8080}

curl -fsS "$API/health/ready" >/dev/null 2>&1 || bash infra/services.sh start

failed=0
post() { # path json → prints "status body"
  local out; out=$(curl -sS -o /tmp/.mc-bootstrap.$$ -w '%{http_code}' -H 'content-type: application/json' -X POST --data "$2" "$API$1") || out=000
  echo "$out $(cat /tmp/.mc-bootstrap.$$ 2>/dev/null)"; rm -f /tmp/.mc-bootstrap.$$
}
json_str() { node -e 'process.stdout.write(JSON.stringify(process.argv[1]))' "$1"; }

while IFS= read -r line || [ -n "$line" ]; do
  line=${line%%#*}; line=$(echo "$line" | xargs || true)
  [ -n "$line" ] || continue
  user=root; port=22; addr=$line
  if [[ $addr == *@* ]]; then user=${addr%%@*}; addr=${addr#*@}; fi
  if [[ $addr =~ ^([^:]+):([0-9]+)$ ]]; then addr=${BASH_REMATCH[1]}; port=${BASH_REMATCH[2]}; fi
  res=$(post /v1/hosts "{\"address\":$(json_str "$addr"),\"sshPort\":$port,\"sshUser\":$(json_str "$user")}")
  code=${res%% *}
  case $code in
    201) echo "host $addr: registered" ;;
    409) echo "host $addr: already registered" ;;
    *) echo "host $addr: FAILED ($code) ${res#* }" >&2; failed=1 ;;
  esac
done < "$hosts_file"

while IFS= read -r line || [ -n "$line" ]; do
  line=${line%%#*}; line=$(echo "$line" | xargs || true)
  [ -n "$line" ] || continue
  base=$(basename "$line"); name=${base%.*}
  res=$(post /v1/images "{\"name\":$(json_str "$name"),\"path\":$(json_str "$line")}")
  code=${res%% *}
  case $code in
    201) echo "image $name: registered ($line)" ;;
    409) echo "image $name: already registered" ;;
    *) echo "image $name: FAILED ($code) ${res#* }" >&2; failed=1 ;;
  esac
done < "$images_file"

echo "minicloud API: $API (Swagger UI at $API/docs)"
exit $failed
