#!/usr/bin/env bash
# Type a line into a lab guest's serial console (the pty of <serial type='pty'>).
#   infra/lab/console-send.sh HOST_INDEX DOMAIN 'dirty 64 word'
# PITFALL: qemu's pty chardev reads from the pty only while a client holds the
# slave open, and it checks for one only once per second; a bare
# `printf 'cmd\n' > /dev/pts/N` (open, write, close within 1 s) is usually LOST.
# So the pty is held open for 1.5 s after writing.
# Over ssh (what the platform does), the same recipe:
#   ssh root@HOST 'p=$(virsh -c qemu:///system ttyconsole DOM); (printf "%s\n" "dirty 64 word"; sleep 1.5) > "$p"'
set -euo pipefail
(($# >= 3)) || { echo "usage: $0 HOST_INDEX DOMAIN TEXT..." >&2; exit 2; }
i=$1 dom=$2
shift 2
exec "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/lab.sh" exec "$i" sh -c '
  p=$(virsh -q -c qemu:///system ttyconsole "$1") || exit 1
  case $p in /dev/pts/*) ;; *) echo "no pty console for $1: $p" >&2; exit 1 ;; esac
  shift
  (printf "%s\n" "$*"; sleep 1.5) > "$p"' sh "$dom" "$@"
