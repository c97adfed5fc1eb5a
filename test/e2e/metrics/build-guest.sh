#!/usr/bin/env bash
# Builds the metrics e2e guest: the controller's own kernel plus a tiny initramfs (static busybox, the virtio
# modules) whose init keeps dirtying memory and writing its disk, so that CPU, memory and disk metrics move.
#   build-guest.sh OUTDIR   -> OUTDIR/vmlinuz, OUTDIR/initrd.gz
set -euo pipefail
out=${1:?usage: build-guest.sh OUTDIR}
# The controller may run another kernel than the one installed in /boot (containers): take the newest there.
kernel=$(ls /boot/vmlinuz-* 2>/dev/null | sort -V | tail -1)
[[ -n $kernel ]] || { echo "no kernel in /boot (apt-get install linux-image-amd64)" >&2; exit 1; }
kver=${kernel#/boot/vmlinuz-}
mods=/lib/modules/$kver/kernel
bb=$(command -v busybox) || { echo "busybox is needed (apt-get install busybox)" >&2; exit 1; }
# The guest has no libc: busybox must be static (Debian's busybox-static, which infra/install-deps.sh installs).
if ldd "$bb" >/dev/null 2>&1; then echo "$bb is not statically linked (apt-get install busybox-static)" >&2; exit 1; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,proc,sys,dev,tmp,lib/mod}
cp "$bb" "$root/bin/busybox"
order="drivers/virtio/virtio_ring.ko drivers/virtio/virtio.ko drivers/virtio/virtio_pci_legacy_dev.ko
  drivers/virtio/virtio_pci_modern_dev.ko drivers/virtio/virtio_pci.ko drivers/block/virtio_blk.ko
  drivers/virtio/virtio_balloon.ko"
n=0
for m in $order; do
  n=$((n + 1))
  if [[ -r $mods/$m ]]; then cp "$mods/$m" "$root/lib/mod/$(printf %02d "$n")-$(basename "$m")"
  elif [[ -r $mods/$m.xz ]]; then xz -dc "$mods/$m.xz" >"$root/lib/mod/$(printf %02d "$n")-$(basename "$m")"; fi
done
cat >"$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs -o size=48m tmp /tmp
for m in /lib/mod/*.ko; do insmod "$m" || echo "minicloud-metrics-guest: insmod $m failed"; done
mdev -s 2>/dev/null
ls /dev/vda >/dev/null 2>&1 && echo "minicloud-metrics-guest: disk vda present"
echo "minicloud-metrics-guest: up, dirtying memory"
while :; do
  dd if=/dev/zero of=/tmp/dirty bs=1M count=32 2>/dev/null; rm -f /tmp/dirty
  [ -b /dev/vda ] && dd if=/dev/zero of=/dev/vda bs=64k count=64 conv=fsync 2>/dev/null
done
INIT
chmod +x "$root/init"
mkdir -p "$out"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) >"$out/initrd.gz"
cp "$kernel" "$out/vmlinuz"
