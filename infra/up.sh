#!/usr/bin/env bash
# Quick start, as root on a Debian 12 machine: installs what is missing, builds, creates a lab of hypervisor hosts
# (network namespaces with their own sshd + libvirtd) and a guest image, starts the five services, and registers
# the lab's hosts and image. Run it again at any time: every step is idempotent.
#   MINICLOUD_LAB_HOSTS=3 bash infra/up.sh
set -euo pipefail
cd "$(dirname "$0")/.."
LAB_DIR=${MINICLOUD_LAB_DIR:-/var/lib/minicloud-lab}

step() { printf '\n== %s ==\n' "$*"; }

step "Node.js and system packages"
bash infra/ensure-node.sh
bash infra/install-deps.sh

step "npm dependencies and build"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build

step "lab: guest image and ${MINICLOUD_LAB_HOSTS:-2} hypervisor hosts"
bash infra/lab/image/build.sh
bash infra/lab/lab.sh up "${MINICLOUD_LAB_HOSTS:-2}"
echo "$LAB_DIR/images/minicloud-lab.qcow2" > "$LAB_DIR/images.txt"

step "services"
bash infra/services.sh start

step "hosts and images"
bash infra/bootstrap.sh "$LAB_DIR/hosts.txt" "$LAB_DIR/images.txt"

ln -sfn "$PWD/tools/minicloud" /usr/local/bin/minicloud   # the CLI (docs/cli.md)

cat <<MSG

minicloud is up. Create a VM:
  curl -s -XPOST localhost:8080/v1/vms -H 'content-type: application/json' \\
       -d '{"name":"web-1","vcpus":1,"memoryMiB":256,"diskGiB":1,"image":"minicloud-lab"}'
  curl -s localhost:8080/v1/vms/<id>            # status: requested → scheduled → provisioning → running
  curl -s localhost:8080/v1/vms/<id>/console    # the guest's serial console
Or with the CLI (docs/cli.md):
  minicloud vm create web-1 --vcpus 1 --memory 256 --disk 1 --image minicloud-lab --wait
  minicloud vm list;  minicloud vm console web-1;  minicloud --help
Services: bash infra/services.sh status|stop      Lab: bash infra/lab/lab.sh status|down
MSG
