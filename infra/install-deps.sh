#!/usr/bin/env bash
# minicloud: install everything the hypervisor lab and the platform need on a
# fresh Debian 12 machine (root, no systemd), and make sure PostgreSQL
# (127.0.0.1:5432, database "minicloud") and NATS with JetStream
# (127.0.0.1:4222) are running.
#
# Idempotent and fast on re-runs: apt is only touched when a package is missing,
# services are only started when nothing listens on their port.
#
# Env: MINICLOUD_SKIP_SERVICES=1  only install packages, do not start services.
set -euo pipefail

log() { printf '[install-deps] %s\n' "$*" >&2; }
die() { printf '[install-deps] ERROR: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "must run as root"
export DEBIAN_FRONTEND=noninteractive

# --- packages -----------------------------------------------------------------
LAB_PKGS=(
  # hypervisor + guest image
  qemu-system-x86 qemu-utils busybox-static linux-image-amd64 kmod xz-utils zstd
  libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
  # per-host sshd, host-to-host ssh (libvirt p2p migration over qemu+ssh)
  openssh-server openssh-client
  # namespaces / bridges / veths (unshare, nsenter come from util-linux)
  iproute2 util-linux procps psmisc
  # cloud-init NoCloud seed ISOs (volume id "cidata")
  genisoimage xorriso
  # rootfs + initrd building (no mounting)
  e2fsprogs cpio gzip
  # static memory-dirtying helper
  gcc libc6-dev
  # serial console plumbing, misc tools used by scripts
  socat curl jq ca-certificates
)
SERVICE_PKGS=(postgresql nats-server)

missing_pkgs() {
  local p st
  for p in "$@"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ $st == installed ]] || printf '%s\n' "$p"
  done
}

want=("${LAB_PKGS[@]}")
[[ ${MINICLOUD_SKIP_SERVICES:-0} == 1 ]] || want+=("${SERVICE_PKGS[@]}")
mapfile -t missing < <(missing_pkgs "${want[@]}")
if ((${#missing[@]} == 0)); then
  log "all ${#want[@]} packages already installed"
else
  log "installing: ${missing[*]}"
  t0=$SECONDS
  # no systemd here: keep maintainer scripts from trying to start services
  # (policy-rc.d exit 101 = "action not allowed"); we start what we need below.
  prc=/usr/sbin/policy-rc.d; own_prc=0
  if [[ ! -e $prc ]]; then printf '#!/bin/sh\nexit 101\n' >"$prc"; chmod +x "$prc"; own_prc=1; fi
  trap '[[ $own_prc == 1 ]] && rm -f "$prc"' EXIT
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold "${missing[@]}" >/tmp/minicloud-apt.log 2>&1 \
    || { tail -n 40 /tmp/minicloud-apt.log >&2; die "apt-get install failed (full log: /tmp/minicloud-apt.log)"; }
  [[ $own_prc == 1 ]] && rm -f "$prc"
  trap - EXIT
  mapfile -t still < <(missing_pkgs "${want[@]}")
  ((${#still[@]} == 0)) || die "still missing after install: ${still[*]}"
  log "packages installed in $((SECONDS - t0)) s"
fi

# sanity: the lab needs a kernel + modules of the installed linux-image-amd64
ls /boot/vmlinuz-* >/dev/null 2>&1 || die "no /boot/vmlinuz-* after installing linux-image-amd64"

# libvirt's qemu driver resolves its built-in user/group "libvirt-qemu" before it
# reads qemu.conf (the lab runs qemu as root); normally libvirt-daemon-system
# creates them, which we do not install (it wants systemd).
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
getent passwd libvirt-qemu >/dev/null ||
  useradd --system -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin -c "libvirt qemu" libvirt-qemu

[[ ${MINICLOUD_SKIP_SERVICES:-0} == 1 ]] && { log "MINICLOUD_SKIP_SERVICES=1: not touching services"; exit 0; }

# --- services -----------------------------------------------------------------
listening() { # port
  ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}
wait_port() { # port seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do listening "$1" && return 0; sleep 0.1; done
  return 1
}

# PostgreSQL
if listening 5432; then
  log "postgres already listening on 127.0.0.1:5432"
else
  ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
  if [[ -z $ver ]]; then
    ver=$(ls /usr/lib/postgresql | sort -V | tail -n1)
    log "creating PostgreSQL $ver cluster 'main'"
    pg_createcluster "$ver" main >/dev/null
  fi
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  if ! grep -Eq '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba"; then
    log "pg_hba: trust for 127.0.0.1 (lab/dev machine only)"
    sed -i -E 's/^(host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1\/32[[:space:]]+)\S+/\1trust/' "$hba"
    grep -Eq '^host[[:space:]]+all[[:space:]]+all[[:space:]]+127\.0\.0\.1/32[[:space:]]+trust' "$hba" \
      || sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  fi
  conf=/etc/postgresql/$ver/main/postgresql.conf
  grep -Eq "^listen_addresses" "$conf" || echo "listen_addresses = '127.0.0.1'" >>"$conf"
  log "starting PostgreSQL $ver (no systemd)"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  wait_port 5432 30 || die "postgres did not listen on 5432 (see /var/log/postgresql/)"
fi
psql_() { psql -h 127.0.0.1 -U postgres -d postgres -XAtq "$@"; }
for i in $(seq 50); do psql_ -c 'select 1' >/dev/null 2>&1 && break; sleep 0.2; done
psql_ -c 'select 1' >/dev/null || die "cannot connect to postgres as user postgres over TCP 127.0.0.1:5432 (check pg_hba.conf)"
if [[ $(psql_ -c "select 1 from pg_database where datname='minicloud'") != 1 ]]; then
  psql_ -c 'create database minicloud' && log "created database minicloud"
else
  log "database minicloud exists"
fi

# NATS (JetStream)
if listening 4222; then
  log "NATS already listening on 127.0.0.1:4222"
  if pid=$(ss -Hltnp 'sport = :4222' 2>/dev/null | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2) && [[ -n $pid ]]; then
    if tr '\0' ' ' </proc/"$pid"/cmdline | grep -Eq -- '(^| )(-js|--jetstream)( |$)'; then
      log "NATS (pid $pid) was started with JetStream (-js)"
    else
      log "WARNING: NATS pid $pid has no -js on its command line; JetStream may be off (the platform checks at start)"
    fi
  else
    log "note: could not inspect the NATS process; the platform verifies JetStream at start"
  fi
else
  mkdir -p /var/lib/nats-server
  log "starting nats-server with JetStream (no systemd)"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
  wait_port 4222 15 || { tail -n 20 /var/log/nats-server.log >&2 || true; die "nats-server did not listen on 4222"; }
fi
log "done"
