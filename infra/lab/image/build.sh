#!/usr/bin/env bash
# Build the minicloud lab guest image from Debian packages, without mounting
# anything (mke2fs -d + cpio):
#
#   OUT/minicloud-lab.qcow2          qcow2 template: 64 MiB ext4 rootfs (busybox)
#   OUT/minicloud-lab.vmlinuz        the Debian kernel (linux-image-amd64, /boot)
#   OUT/minicloud-lab.initrd         busybox + virtio/ext4 modules; mounts
#                                    /dev/vda and switch_roots
#   OUT/minicloud-lab.manifest.json  versions, checksums, kernel cmdline
#
# Usage: build.sh [--force] [--out DIR]   (OUT default $MINICLOUD_LAB_DIR/images,
#        i.e. /var/lib/minicloud-lab/images). Cached: rebuilds only when an
#        input (this script, guest-helper.c, busybox, kernel, gcc) changed.
#
# Direct kernel boot, as the platform's domain XML does it:
#   <os><type arch='x86_64' machine='pc'>hvm</type>
#     <kernel>/var/lib/minicloud/images/minicloud-lab.vmlinuz</kernel>
#     <initrd>/var/lib/minicloud/images/minicloud-lab.initrd</initrd>
#     <cmdline>console=ttyS0 root=/dev/vda rw</cmdline></os>
# KERNEL CMDLINE: "console=ttyS0 root=/dev/vda rw"   (exactly this; optional
#   extras: minicloud.hostname=NAME  minicloud.dirty=MIB,word|random[,RATE]
#   quiet  - "quiet" only hides kernel boot messages, the guest lines stay)
#
# Guest console protocol (ttyS0):
#   out: "MINICLOUD-GUEST BOOTED hostname=<h> uptime=<s>"   once, after boot
#        "minicloud-counter N"                               every second, N=1,2,..
#        "minicloud-dirty started mib=.. mode=.. rate=.. pid=.." / "minicloud-dirty stopped"
#   in : "dirty <MiB> <word|random> [rate_MiB_per_s]" | "stop-dirty" | "ping" (-> "minicloud-pong <uptime>")
#        | "echo TEXT" (-> "minicloud-echo TEXT") | "poweroff"
set -euo pipefail

HERE=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
LAB=${MINICLOUD_LAB_DIR:-/var/lib/minicloud-lab}
OUT=$LAB/images
FORCE=0
while (($#)); do
  case $1 in
    --force) FORCE=1 ;;
    --out) OUT=$2; shift ;;
    -h | --help) sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

log() { printf '[image] %s\n' "$*" >&2; }
die() { printf '[image] ERROR: %s\n' "$*" >&2; exit 1; }

NAME=minicloud-lab
CMDLINE="console=ttyS0 root=/dev/vda rw"
ROOTFS_MIB=64
# virtio disk + ext4 root (the 11 of LAB-NOTES), plus: isofs+cdrom (NoCloud
# seed on a virtio disk), button+evdev (ACPI power button -> virsh shutdown)
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_blk
  crc16 mbcache jbd2 crc32c_generic ext4 cdrom isofs button evdev)

for t in busybox gcc mke2fs qemu-img cpio gzip sha256sum dpkg-query; do
  command -v "$t" >/dev/null || die "missing $t (run infra/install-deps.sh)"
done
BUSYBOX=/bin/busybox
[[ $(dpkg-query -W -f='${db:Status-Status}' busybox-static 2>/dev/null) == installed ]] || die "busybox-static not installed"
ldd "$BUSYBOX" >/dev/null 2>&1 && die "$BUSYBOX is not static (install busybox-static)"

# kernel of the installed linux-image-amd64 metapackage
KVER=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null | grep -o 'linux-image-[0-9][^ ,]*' | head -n1 | sed 's/^linux-image-//')
[[ -n $KVER ]] || KVER=$(ls /lib/modules | sort -V | tail -n1)
VMLINUZ=/boot/vmlinuz-$KVER
MODDIR=/lib/modules/$KVER
[[ -r $VMLINUZ && -d $MODDIR ]] || die "kernel $KVER not found ($VMLINUZ, $MODDIR): install linux-image-amd64"

# --- cache --------------------------------------------------------------------
KEY=$({
  sha256sum "$0" "$HERE/guest-helper.c" | awk '{print $1}'
  dpkg-query -W -f='${Version}\n' busybox-static "linux-image-$KVER" 2>/dev/null || true
  stat -c '%s %Y' "$VMLINUZ" "$BUSYBOX"
  gcc -dumpfullversion
  echo "$KVER ${MODULES[*]} $CMDLINE $ROOTFS_MIB"
} | sha256sum | awk '{print $1}')
STAMP=$OUT/$NAME.stamp
if ((!FORCE)) && [[ -s $STAMP && $(<"$STAMP") == "$KEY" ]] &&
  [[ -s $OUT/$NAME.qcow2 && -s $OUT/$NAME.vmlinuz && -s $OUT/$NAME.initrd ]]; then
  log "up to date: $OUT/$NAME.{qcow2,vmlinuz,initrd} (use --force to rebuild)"
  exit 0
fi

t0=$(date +%s.%N)
mkdir -p "$OUT"
W=$(mktemp -d "${TMPDIR:-/tmp}/minicloud-image.XXXXXX")
trap 'rm -rf "$W"' EXIT
log "building guest image (kernel $KVER) in $W"

# --- static helper ----------------------------------------------------------------
gcc -static -O2 -Wall -o "$W/minicloud" "$HERE/guest-helper.c" || die "gcc -static failed (need libc6-dev)"
strip "$W/minicloud" 2>/dev/null || true

# --- modules in dependency order (from modules.dep) -----------------------------
declare -A MODPATH=() SEEN=()
while IFS= read -r line; do
  p=${line%%:*}
  b=${p##*/}
  b=${b%%.ko*}
  MODPATH[${b//-/_}]=$p
done <"$MODDIR/modules.dep"
ORDER=()
resolve() { # module name (underscores)
  local m=$1 deps d
  [[ -n ${SEEN[$m]:-} ]] && return 0
  SEEN[$m]=1
  if [[ -z ${MODPATH[$m]:-} ]]; then
    grep -qE "/${m//_/[-_]}\.ko" "$MODDIR/modules.builtin" 2>/dev/null && return 0 # built in
    die "module $m not found in $MODDIR"
  fi
  deps=$(grep -E "^${MODPATH[$m]}:" "$MODDIR/modules.dep" | cut -d: -f2)
  for d in $deps; do
    d=${d##*/}; d=${d%%.ko*}
    resolve "${d//-/_}"
  done
  ORDER+=("$m")
}
for m in "${MODULES[@]}"; do resolve "$m"; done

# --- initrd ------------------------------------------------------------------------
I=$W/initrd
mkdir -p "$I"/{bin,dev,proc,sys,newroot,lib/modules,etc}
cp "$BUSYBOX" "$I/bin/busybox"
ln -s busybox "$I/bin/sh"
mknod -m 600 "$I/dev/console" c 5 1
mknod -m 666 "$I/dev/null" c 1 3
for m in "${ORDER[@]}"; do
  src=$MODDIR/${MODPATH[$m]}
  case $src in
    *.ko) cp "$src" "$I/lib/modules/$m.ko" ;;
    *.ko.xz) xz -dc "$src" >"$I/lib/modules/$m.ko" ;;
    *.ko.zst) zstd -qdc "$src" >"$I/lib/modules/$m.ko" ;;
    *.ko.gz) gzip -dc "$src" >"$I/lib/modules/$m.ko" ;;
    *) die "unknown module format $src" ;;
  esac
  echo "$m" >>"$I/etc/modules.order"
done
cat >"$I/init" <<'EOF'
#!/bin/busybox sh
# minicloud lab initrd: load virtio + ext4 modules, mount root=, switch_root
B=/bin/busybox
$B mount -t proc proc /proc
$B mount -t sysfs sysfs /sys
$B mount -t devtmpfs devtmpfs /dev 2>/dev/null
fail() { echo "MINICLOUD-GUEST INITRD-ERROR $*"; exec $B sh; }
for m in $($B cat /etc/modules.order); do
  $B insmod /lib/modules/$m.ko 2>/dev/null || echo "minicloud-initrd: insmod $m failed"
done
root=/dev/vda; mode=rw; fstype=ext4
for x in $($B cat /proc/cmdline); do
  case $x in
    root=*) root=${x#root=} ;;
    rootfstype=*) fstype=${x#rootfstype=} ;;
    ro) mode=ro ;;
    rw) mode=rw ;;
  esac
done
i=0
while [ ! -b "$root" ] && [ $i -lt 100 ]; do $B usleep 100000; i=$((i + 1)); done
[ -b "$root" ] || fail "no root device $root"
$B mount -t "$fstype" -o "$mode" "$root" /newroot || fail "cannot mount $root"
[ -x /newroot/sbin/init ] || fail "no /sbin/init on $root"
$B umount /proc /sys
$B mount --move /dev /newroot/dev || $B umount /dev
exec $B switch_root /newroot /sbin/init
EOF
chmod 755 "$I/init"
(cd "$I" && find . -print0 | sort -z | cpio --null -o -H newc -R 0:0 --quiet) | gzip -9n >"$W/$NAME.initrd"

# --- rootfs ----------------------------------------------------------------------
R=$W/rootfs
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,etc/init.d,etc/acpi/PWRF,proc,sys,dev,run,tmp,root,mnt/seed,var/log}
chmod 1777 "$R/tmp"
cp "$BUSYBOX" "$R/bin/busybox"
for a in $("$BUSYBOX" --list); do
  case $a in busybox | init) continue ;; esac
  ln -s busybox "$R/bin/$a"
done
ln -s ../bin/busybox "$R/sbin/init"
install -m 755 "$W/minicloud" "$R/bin/minicloud"
mknod -m 600 "$R/dev/console" c 5 1
mknod -m 666 "$R/dev/null" c 1 3
echo minicloud-guest >"$R/etc/hostname"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$R/etc/passwd"
printf 'root:x:0:\n' >"$R/etc/group"
printf '127.0.0.1 localhost\n' >"$R/etc/hosts"
cat >"$R/etc/inittab" <<'EOF'
::sysinit:/etc/init.d/rcS
::once:/bin/minicloud counter
::respawn:/etc/init.d/agent
::ctrlaltdel:/bin/poweroff
::shutdown:/bin/sync
::shutdown:/bin/umount -a -r
EOF
cat >"$R/etc/init.d/rcS" <<'EOF'
#!/bin/sh
# minicloud lab guest: early boot
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc 2>/dev/null
mount -t sysfs sysfs /sys 2>/dev/null
[ -c /dev/ttyS0 ] || mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts 2>/dev/null
mount -t tmpfs -o mode=755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
dmesg -n 1 2>/dev/null # keep kernel messages off the console from now on
stty -F /dev/ttyS0 -echo 2>/dev/null || true # commands typed into the console are not echoed
name=
for x in $(cat /proc/cmdline); do
  case $x in minicloud.hostname=*) name=${x#minicloud.hostname=} ;; esac
done
# cloud-init NoCloud seed (ISO9660 with meta-data) attached as a virtio disk
if [ -z "$name" ]; then
  for d in /dev/vd[b-z]; do
    [ -b "$d" ] || continue
    if mount -t iso9660 -o ro "$d" /mnt/seed 2>/dev/null; then
      if [ -f /mnt/seed/meta-data ]; then
        name=$(sed -n 's/^local-hostname:[[:space:]]*//p' /mnt/seed/meta-data | tr -d "\"' \r")
        iid=$(sed -n 's/^instance-id:[[:space:]]*//p' /mnt/seed/meta-data | tr -d "\"' \r")
        echo "MINICLOUD-GUEST SEED device=$d instance-id=$iid local-hostname=$name"
        umount /mnt/seed
        break
      fi
      umount /mnt/seed
    fi
  done
fi
[ -n "$name" ] || name=$(cat /etc/hostname)
hostname "$name"
ip link set lo up 2>/dev/null
# ACPI power button (virsh shutdown; domain needs <features><acpi/></features>)
ls /dev/input/event* >/dev/null 2>&1 && acpid -c /etc/acpi -l /run/acpid.log 2>/dev/null
echo "MINICLOUD-GUEST BOOTED hostname=$(hostname) uptime=$(cut -d' ' -f1 /proc/uptime)"
EOF
printf '#!/bin/sh\necho "minicloud-guest poweroff (acpi)"\n/bin/poweroff\n' >"$R/etc/acpi/PWRF/00000080"
cat >"$R/etc/init.d/agent" <<'EOF'
#!/bin/sh
# minicloud lab guest: command reader on the serial console (ttyS0)
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
PIDF=/run/dirty.pid
stop_dirty() {
  if [ -s $PIDF ] && kill -0 "$(cat $PIDF)" 2>/dev/null; then
    p=$(cat $PIDF)
    kill "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    rm -f $PIDF
    return 0
  fi
  rm -f $PIDF
  return 1
}
start_dirty() { # MIB MODE [RATE]
  case "$1" in '' | *[!0-9]*) echo "minicloud-dirty error usage: dirty <MiB> <word|random> [rate_MiB_per_s]"; return ;; esac
  case "$2" in word | random) ;; *) echo "minicloud-dirty error mode must be word or random"; return ;; esac
  case "$3" in '' | *[!0-9.]*) [ -z "$3" ] || { echo "minicloud-dirty error bad rate '$3'"; return; } ;; esac
  stop_dirty && echo "minicloud-dirty stopped (replaced)"
  /bin/minicloud dirty "$1" "$2" ${3:-0} &
  echo $! >$PIDF
}
# boot-time workload: minicloud.dirty=MIB,MODE[,RATE]
if [ ! -e /run/agent.started ]; then
  : >/run/agent.started
  for x in $(cat /proc/cmdline); do
    case $x in minicloud.dirty=*)
      v=${x#minicloud.dirty=}
      start_dirty $(echo "$v" | tr ',' ' ')
      ;;
    esac
  done
fi
exec </dev/ttyS0
echo "minicloud-agent ready"
stty -echo 2>/dev/null
while :; do
  if ! IFS= read -r line; then sleep 1; continue; fi
  line=$(printf '%s' "$line" | tr -d '\r')
  set -- $line
  case "$1" in
    '') ;;
    dirty) start_dirty "$2" "$3" "$4" ;;
    stop-dirty) if stop_dirty; then echo "minicloud-dirty stopped"; else echo "minicloud-dirty stopped (was not running)"; fi ;;
    ping) echo "minicloud-pong $(cut -d' ' -f1 /proc/uptime)" ;;
    echo) shift; echo "minicloud-echo $*" ;;
    poweroff) echo "minicloud-guest poweroff"; poweroff ;;
    minicloud-*|MINICLOUD-*) ;; # our own output looped back: ignore
    *) echo "minicloud-unknown-command $1" ;;
  esac
done
EOF
chmod 755 "$R/etc/init.d/rcS" "$R/etc/init.d/agent" "$R/etc/acpi/PWRF/00000080"
echo "$KEY" >"$R/etc/minicloud-image"

mke2fs -q -t ext4 -L minicloud-root -E root_owner=0:0 -d "$R" -F "$W/root.img" "${ROOTFS_MIB}M" >/dev/null || die "mke2fs -d failed"
qemu-img convert -f raw -O qcow2 "$W/root.img" "$W/$NAME.qcow2"
cp "$VMLINUZ" "$W/$NAME.vmlinuz"

# --- publish (atomic per file) ---------------------------------------------------
for f in qcow2 vmlinuz initrd; do
  cp -f "$W/$NAME.$f" "$OUT/.$NAME.$f.tmp"
  mv -f "$OUT/.$NAME.$f.tmp" "$OUT/$NAME.$f"
done
sum() { sha256sum "$OUT/$NAME.$1" | awk '{print $1}'; }
cat >"$OUT/$NAME.manifest.json" <<EOF
{
  "name": "$NAME",
  "template": "$NAME.qcow2",
  "templateFormat": "qcow2",
  "templateVirtualSizeBytes": $((ROOTFS_MIB * 1024 * 1024)),
  "kernel": "$NAME.vmlinuz",
  "initrd": "$NAME.initrd",
  "cmdline": "$CMDLINE",
  "kernelVersion": "$KVER",
  "bootedMarker": "MINICLOUD-GUEST BOOTED",
  "sha256": {"qcow2": "$(sum qcow2)", "vmlinuz": "$(sum vmlinuz)", "initrd": "$(sum initrd)"},
  "buildKey": "$KEY"
}
EOF
echo "$KEY" >"$STAMP"
t1=$(date +%s.%N)
log "built in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s: $(cd "$OUT" && ls -l --block-size=K $NAME.qcow2 $NAME.vmlinuz $NAME.initrd | awk '{printf "%s=%s ", $NF, $5}')"
log "modules (load order): ${ORDER[*]}"
