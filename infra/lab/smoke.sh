#!/usr/bin/env bash
# End-to-end check of the lab alone (no platform):
#   up 2 -> build image -> scp image/kernel/initrd to both hosts -> linked clone
#   -> define+start a 256 MiB TCG domain on h1 -> BOOTED on the console log
#   -> "dirty 32 word" acknowledged -> live migration h1->h2 (p2p, qemu+ssh,
#   --copy-storage-all, destination disk pre-created) -> counter continues on
#   h2 without a gap -> console input works on h2 -> clean up (the lab stays up;
#   --down also takes it down).
# Prints timings. Exit 0 = pass.
set -euo pipefail

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
LAB=${MINICLOUD_LAB_DIR:-/var/lib/minicloud-lab}
LABSH=$HERE/lab.sh
DOWN=0
[[ ${1:-} == --down ]] && DOWN=1

ID=mc-smoke-$$
A1=10.254.7.11
A2=10.254.7.12
IMG=/var/lib/minicloud/images
VMD=/var/lib/minicloud/vms/$ID
# the same files seen from the root namespace (per-host state dirs)
LOG1=$LAB/hosts/h1/minicloud/vms/$ID/console.log
LOG2=$LAB/hosts/h2/minicloud/vms/$ID/console.log

ts() { date +%s.%N; }
T0=$(ts)
since() { awk -v a="$1" -v b="$(ts)" 'BEGIN{printf "%.2f", b-a}'; }
step() { printf '[smoke %6ss] %s\n' "$(since "$T0")" "$*" >&2; }
fail() {
  printf '[smoke] FAIL: %s\n' "$*" >&2
  for f in "$LOG1" "$LOG2"; do [[ -f $f ]] && { echo "----- $f (tail)" >&2; tail -n 15 "$f" >&2; }; done
  exit 1
}

SSHO=(-i "$LAB/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$LAB/known_hosts" -o LogLevel=ERROR)
on() { local a=$1; shift; ssh "${SSHO[@]}" "root@$a" "$@"; }
vsh() { local a=$1; shift; on "$a" virsh -q -c qemu:///system "$@"; }

cleanup() {
  local a
  for a in $A1 $A2; do
    vsh "$a" destroy "$ID" >/dev/null 2>&1 || true
    vsh "$a" undefine "$ID" >/dev/null 2>&1 || true
    on "$a" rm -rf "$VMD" >/dev/null 2>&1 || true
  done
  if ((DOWN)); then "$LABSH" down >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

wait_log() { # file regex timeout_s -> prints elapsed
  local f=$1 re=$2 to=$3 t
  t=$(ts)
  while ! grep -aqE "$re" "$f" 2>/dev/null; do
    awk -v a="$t" -v b="$(ts)" -v to="$to" 'BEGIN{exit !(b-a>to)}' && return 1
    sleep 0.1
  done
  since "$t"
}
# qemu's pty chardev only reads while the slave is held open (checked once a
# second): hold it 1.5 s, a bare `printf > /dev/pts/N` is lost
send_console() { # addr domain text
  on "$1" "p=\$(virsh -q -c qemu:///system ttyconsole $2) && (printf '%s\\n' '$3'; sleep 1.5) > \$p"
}
last_counter() { grep -aoE 'minicloud-counter [0-9]+' "$1" 2>/dev/null | tail -n1 | awk '{print $2}'; }

step "lab up 2"
"$LABSH" up 2
step "build image (cached)"
"$HERE/image/build.sh"

step "upload image, kernel, initrd to h1 and h2 (scp with the lab key)"
for a in $A1 $A2; do
  on "$a" mkdir -p "$IMG" "$VMD"
  for f in minicloud-lab.qcow2 minicloud-lab.vmlinuz minicloud-lab.initrd; do
    sum=$(sha256sum "$LAB/images/$f" | awk '{print $1}')
    [[ $(on "$a" "sha256sum $IMG/$f 2>/dev/null" | awk '{print $1}') == "$sum" ]] && continue
    # never rewrite a file in place: it may be the backing file of running VMs
    scp -q "${SSHO[@]}" "$LAB/images/$f" "root@$a:$IMG/.$f.$$" && on "$a" mv -f "$IMG/.$f.$$" "$IMG/$f"
  done
  # linked clone on the source; pre-created destination disk for --copy-storage-all
  on "$a" qemu-img create -q -f qcow2 -b "$IMG/minicloud-lab.qcow2" -F qcow2 "$VMD/disk.qcow2" 1G
done

XML=$(
  cat <<EOF
<domain type='qemu'>
  <name>$ID</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$IMG/minicloud-lab.vmlinuz</kernel>
    <initrd>$IMG/minicloud-lab.initrd</initrd>
    <cmdline>console=ttyS0 root=/dev/vda rw minicloud.hostname=$ID</cmdline>
  </os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='$VMD/disk.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'>
      <log file='$VMD/console.log' append='on'/>
      <target port='0'/>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
)
step "define + start $ID (256 MiB, type=qemu/TCG) on h1"
printf '%s\n' "$XML" | on $A1 "cat > $VMD/domain.xml"
vsh $A1 define "$VMD/domain.xml" >/dev/null
TS=$(ts)
vsh $A1 start "$ID" >/dev/null
START_S=$(since "$TS")
BOOT_S=$(wait_log "$LOG1" '^MINICLOUD-GUEST BOOTED' 90) || fail "no BOOTED line within 90 s"
BOOT_LINE=$(grep -a '^MINICLOUD-GUEST BOOTED' "$LOG1" | tr -d '\r')
step "booted: virsh start ${START_S}s, BOOTED line after ${BOOT_S}s: $BOOT_LINE"
[[ $BOOT_LINE == "MINICLOUD-GUEST BOOTED hostname=$ID uptime="* ]] || fail "unexpected BOOTED line"
wait_log "$LOG1" 'minicloud-counter 2' 10 >/dev/null || fail "counter not running"

step "send 'dirty 32 word' to the serial console pty"
PTY=$(vsh $A1 ttyconsole "$ID")
[[ $PTY == /dev/pts/* ]] || fail "virsh ttyconsole gave '$PTY'"
send_console $A1 "$ID" 'dirty 32 word'
ACK_S=$(wait_log "$LOG1" '^minicloud-dirty started mib=32 mode=word' 20) || fail "dirty not acknowledged"
step "acknowledged (send holds the pty 1.5 s, then +${ACK_S}s): $(grep -a '^minicloud-dirty started' "$LOG1" | tail -n1 | tr -d '\r')"
sleep 2

step "live migration h1 -> h2: virsh migrate --live --p2p --copy-storage-all (qemu+ssh://$A2/system)"
BEFORE=$(last_counter "$LOG1")
TM=$(ts)
vsh $A1 migrate --live --p2p --copy-storage-all --persistent --undefinesource --verbose "$ID" "qemu+ssh://$A2/system" >/dev/null 2>&1 ||
  { vsh $A1 migrate --live --p2p --copy-storage-all --persistent --undefinesource "$ID" "qemu+ssh://$A2/system" || true; fail "migration failed"; }
MIG_S=$(since "$TM")
STATE2=$(vsh $A2 domstate "$ID" | head -n1)
[[ $STATE2 == running ]] || fail "domain on h2 is '$STATE2'"
JOB=$(vsh $A2 domjobinfo --completed "$ID" 2>/dev/null || true)
step "migrated in ${MIG_S}s wall; on h2: $STATE2; counter before: $BEFORE"
printf '%s\n' "$JOB" | grep -E 'Time elapsed|Downtime|Data processed|Memory processed|Memory bandwidth|Iteration|Dirty rate' | sed 's/^/    /' >&2 || true

wait_log "$LOG2" 'minicloud-counter [0-9]+' 10 >/dev/null || fail "no counter on h2's console log"
sleep 3
# h1's and h2's logs concatenated must hold one contiguous counter sequence
# (a line may be split across the two logs at switch-over: concatenation joins it)
SEQ=$(cat "$LOG1" "$LOG2" | grep -aoE 'minicloud-counter [0-9]+' | awk '{print $2}')
FIRST2=$(grep -aoE 'minicloud-counter [0-9]+' "$LOG2" | head -n1 | awk '{print $2}')
LAST=$(printf '%s\n' "$SEQ" | tail -n1)
printf '%s\n' "$SEQ" | awk 'NR==1{p=$1; next} $1!=p+1{print "gap/dup after " p ": " $1; bad=1} {p=$1} END{exit bad}' >&2 ||
  fail "counter sequence is not contiguous across migration"
step "counter continues on h2 without gap: last on h1 $(last_counter "$LOG1"), first on h2 $FIRST2, now $LAST"

step "console input on h2: stop-dirty"
send_console $A2 "$ID" 'stop-dirty'
wait_log "$LOG2" '^minicloud-dirty stopped' 20 >/dev/null || fail "stop-dirty not acknowledged on h2"
LEFT=$(vsh $A1 list --all --name | grep -x "$ID" || true)
[[ -z $LEFT ]] || fail "domain still defined on h1 after --undefinesource: '$LEFT'"

step "cleanup"
cleanup
trap - EXIT
printf 'SMOKE PASS: boot %ss (virsh start %ss), dirty ack %ss, migration %ss wall (%s), total %ss\n' \
  "$BOOT_S" "$START_S" "$ACK_S" "$MIG_S" \
  "$(printf '%s\n' "$JOB" | awk -F: '/^Time elapsed:/{gsub(/ /,"",$2); t=$2} /^Downtime/{gsub(/ /,"",$2); if (d=="") d=$2} END{printf "job %s, downtime %s", t, d}')" \
  "$(since "$T0")"
