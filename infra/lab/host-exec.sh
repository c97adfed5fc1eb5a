#!/usr/bin/env bash
# Run a command inside lab host I's network + mount + uts namespaces.
#   infra/lab/host-exec.sh I CMD [ARGS...]     (no CMD: an interactive bash)
# e.g. host-exec.sh 1 virsh -c qemu:///system list --all
#      host-exec.sh 2 cat /var/lib/minicloud/vms/<id>/console.log
# Enters via the pid recorded in $MINICLOUD_LAB_DIR/hosts/hI/keeper.pid.
set -euo pipefail
exec "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lab.sh" exec "$@"
