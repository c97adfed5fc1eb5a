#!/usr/bin/env bash
# minicloud hypervisor lab: N fake "hypervisor hosts" on one machine, each a
# network namespace + private mount namespace running its own virtlogd,
# libvirtd (qemu driver, TCG) and sshd. No systemd needed.
#
#   lab.sh up [N]            start hosts 1..N (default 2); idempotent, adds hosts
#   lab.sh down [--purge]    destroy domains, kill every lab process, remove netns/
#                            veths/bridge and per-host state (--purge: everything)
#   lab.sh status            hosts, daemons, domains
#   lab.sh sshd-stop I | sshd-start I     make host I unreachable over ssh / back
#   lab.sh host-stop I | host-start I     "power off" host I (kills all its
#                            processes incl. VMs, keeps its state) / boot it again
#   lab.sh net-down I | net-up I          unplug/replug host I's veth (timeouts)
#   lab.sh ssh I [CMD...]    ssh into host I as root with the lab key
#   lab.sh exec I CMD...     same as host-exec.sh: run CMD inside host I's namespaces
#   lab.sh env               print shell variables describing the lab
#
# State: $MINICLOUD_LAB_DIR (default /var/lib/minicloud-lab). See README.md.
set -euo pipefail

LAB=${MINICLOUD_LAB_DIR:-/var/lib/minicloud-lab}
SELF=$(readlink -f "${BASH_SOURCE[0]}")
HERE=$(dirname "$SELF")
BR=mcbr0
NET=10.254.7
BR_ADDR=$NET.1
MAX_HOSTS=20
TIMEOUT=${MINICLOUD_LAB_TIMEOUT:-90}
CLEAN_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH=$CLEAN_PATH:$PATH

log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] ERROR: %s\n' "$*" >&2; exit 1; }

hdir() { echo "$LAB/hosts/h$1"; }
addr() { echo "$NET.$((10 + $1))"; }
nsname() { echo "mc-h$1"; }
vethname() { echo "mc-h$1-br"; }
hname() { echo "lab-h$1"; }

check_index() {
  [[ ${1:-} =~ ^[0-9]+$ ]] && (($1 >= 1 && $1 <= MAX_HOSTS)) || die "bad host index '${1:-}' (1..$MAX_HOSTS)"
}

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root"; }

need_tools() {
  local t miss=()
  for t in ip unshare nsenter setsid libvirtd virtlogd virsh /usr/sbin/sshd ssh ssh-keygen flock; do
    command -v "$t" >/dev/null 2>&1 || miss+=("$t")
  done
  ((${#miss[@]} == 0)) || die "missing tools: ${miss[*]} (run infra/install-deps.sh)"
}

# pid from file, alive and with the expected comm
pid_alive() { # pidfile comm
  local f=$1 comm=$2 pid
  [[ -s $f ]] || return 1
  pid=$(<"$f"); pid=${pid//[^0-9]/}
  [[ -n $pid && -r /proc/$pid/comm ]] || return 1
  [[ $(</proc/"$pid"/comm) == "$comm" ]] || return 1
  echo "$pid"
}
keeper_pid() { # I -> pid of the process holding host I's namespaces
  local p
  p=$(pid_alive "$(hdir "$1")/keeper.pid" mc-keeper) || return 1
  # must really be in the host's netns
  [[ -e /run/netns/$(nsname "$1") ]] || return 1
  [[ $(stat -L -c %i "/proc/$p/ns/net" 2>/dev/null) == $(stat -L -c %i "/run/netns/$(nsname "$1")" 2>/dev/null) ]] || return 1
  echo "$p"
}
daemon_pid() { # I name(libvirtd|virtlogd|sshd)
  pid_alive "$(hdir "$1")/run/$2.pid" "$2"
}

# all processes in host I's netns (by pid, never by name)
ns_pids() {
  [[ -e /run/netns/$(nsname "$1") ]] || return 0
  ip netns pids "$(nsname "$1")" 2>/dev/null || true
}

proc_live() { # pid exists and is not a zombie
  local st
  st=$(sed 's/.*) //' /proc/"$1"/stat 2>/dev/null) || return 1
  [[ -n $st && ${st:0:1} != Z ]]
}
kill_pids() { # pids... : TERM, wait up to 3 s, KILL
  local p left i
  (($#)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  for ((i = 0; i < 30; i++)); do
    left=()
    for p in "$@"; do proc_live "$p" && left+=("$p"); done
    ((${#left[@]})) || return 0
    sleep 0.1
  done
  kill -KILL "${left[@]}" 2>/dev/null || true
}

hexec() { # I cmd... : run inside host I (net+mount+uts ns)
  local k
  k=$(keeper_pid "$1") || die "host $1 is not running"
  shift
  nsenter -t "$k" -n -m -u -- env -i HOME=/root PATH=$CLEAN_PATH LC_ALL=C.UTF-8 TERM="${TERM:-dumb}" MINICLOUD_LAB_DIR="$LAB" "$@"
}

SSH_OPTS=(-i "$LAB/id_ed25519" -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$LAB/known_hosts"
  -o GlobalKnownHostsFile=/dev/null -o ConnectTimeout=5 -o LogLevel=ERROR)

running_hosts() { # indices of hosts whose keeper is alive
  local d i
  for d in "$LAB"/hosts/h*; do
    [[ -d $d ]] || continue
    i=${d##*/h}
    [[ $i =~ ^[0-9]+$ ]] || continue
    if keeper_pid "$i" >/dev/null; then echo "$i"; fi
  done | sort -n
  return 0
}
known_indices() { # hosts with a state dir or a netns
  {
    for d in "$LAB"/hosts/h*; do if [[ -d $d ]]; then echo "${d##*/h}"; fi; done
    ip netns list 2>/dev/null | awk '{print $1}' | sed -n 's/^mc-h\([0-9]\+\)$/\1/p'
  } | { grep -E '^[0-9]+$' || true; } | sort -nu
}

# the namespace holder / subreaper (keeper.c), rebuilt when its source changes
build_keeper() {
  local src=$HERE/keeper.c bin=$LAB/bin/mc-keeper
  [[ -x $bin ]] && cmp -s "$src" "$LAB/bin/keeper.c" && return 0
  mkdir -p "$LAB/bin"
  gcc -O2 -Wall -o "$bin.tmp" "$src" || die "cannot compile $src (gcc missing? run infra/install-deps.sh)"
  mv -f "$bin.tmp" "$bin" && cp -f "$src" "$LAB/bin/keeper.c"
}

# ---------------------------------------------------------------------------
# global, once per lab: key pair, bridge, shared dirs
ensure_global() {
  mkdir -p "$LAB"/{hosts,shared,images,hostkeys,capcache}
  # the shared directory stands for an NFS datastore every host mounts: marked as one (docs/migration.md)
  touch "$LAB/shared/.minicloud-datastore"
  chmod 700 "$LAB"
  if [[ ! -s $LAB/id_ed25519 || ! -s $LAB/id_ed25519.pub ]]; then
    rm -f "$LAB/id_ed25519" "$LAB/id_ed25519.pub"
    ssh-keygen -q -t ed25519 -N '' -C minicloud-lab -f "$LAB/id_ed25519"
    log "generated platform key pair $LAB/id_ed25519"
  fi
  : >"$LAB/resolv.conf"
  build_keeper
  # libvirt's qemu driver resolves its built-in default user/group
  # (libvirt-qemu) before reading qemu.conf (user="root"): they must exist.
  getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
  getent passwd libvirt-qemu >/dev/null ||
    useradd --system -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin -c "libvirt qemu (minicloud lab)" libvirt-qemu
  mkdir -p /var/lib/minicloud # mount point only (bind target inside hosts)

  if ! ip link show "$BR" >/dev/null 2>&1; then
    # refuse to shadow an existing route for the lab range
    if ip -4 route show "$NET.0/24" | grep -q .; then die "route for $NET.0/24 already exists: $(ip -4 route show "$NET.0/24")"; fi
    ip link add "$BR" type bridge
    sysctl -qw "net.ipv6.conf.$BR.disable_ipv6=1" 2>/dev/null || true
    ip link set "$BR" type bridge forward_delay 0 stp_state 0 2>/dev/null || true
  fi
  ip -4 addr show dev "$BR" | grep -q "inet $BR_ADDR/24" || ip addr add "$BR_ADDR/24" dev "$BR"
  ip link set "$BR" up
}

write_etc_hosts() { # max index
  local f=$LAB/etc-hosts i tmp
  tmp=$({
    echo "127.0.0.1 localhost"
    echo "::1 localhost ip6-localhost ip6-loopback"
    echo "$BR_ADDR lab-gw"
    for ((i = 1; i <= $1; i++)); do echo "$(addr "$i") $(hname "$i")"; done
  })
  # rewrite in place (same inode): hosts have it bind-mounted on /etc/hosts
  [[ -f $f && $(<"$f") == "$tmp" ]] || printf '%s\n' "$tmp" >"$f"
}

host_pubkey() { awk '{print $1" "$2}' "$LAB/hostkeys/h$1_ed25519.pub"; }

write_known_hosts() { # indices...
  local i kh=$LAB/known_hosts tmp
  tmp=$(for i in "$@"; do echo "$(addr "$i") $(host_pubkey "$i")"; done)
  printf '%s\n' "$tmp" >"$kh.tmp" && mv -f "$kh.tmp" "$kh"
  # hosts' own /root/.ssh/known_hosts also know the lab-hI names
  tmp=$(for i in "$@"; do
    echo "$(addr "$i") $(host_pubkey "$i")"
    echo "$(hname "$i") $(host_pubkey "$i")"
  done)
  for i in "$@"; do
    [[ -d $(hdir "$i")/ssh ]] && printf '%s\n' "$tmp" >"$(hdir "$i")/ssh/known_hosts"
  done
  return 0
}

write_outputs() { # indices of running hosts...
  local i first=1 kh=$LAB/known_hosts
  {
    echo "# minicloud lab hosts (root ssh on port 22, key $LAB/id_ed25519, known_hosts $kh)"
    echo "# generated by infra/lab/lab.sh at $(date -u +%FT%TZ)"
    for i in "$@"; do addr "$i"; done
  } >"$LAB/hosts.txt.tmp"
  mv -f "$LAB/hosts.txt.tmp" "$LAB/hosts.txt"
  {
    echo '{'
    echo '  "hosts": ['
    for i in "$@"; do
      ((first)) || echo ','
      first=0
      printf '    {"name": "%s", "address": "%s", "port": 22, "user": "root", "hostKey": "%s", "index": %d, "libvirtUri": "qemu+ssh://root@%s/system"}' \
        "$(hname "$i")" "$(addr "$i")" "$(host_pubkey "$i")" "$i" "$(addr "$i")"
    done
    echo
    echo '  ],'
    printf '  "privateKeyPath": "%s",\n' "$LAB/id_ed25519"
    printf '  "publicKeyPath": "%s",\n' "$LAB/id_ed25519.pub"
    printf '  "knownHostsPath": "%s",\n' "$kh"
    printf '  "sharedDir": "%s",\n' "$LAB/shared"
    printf '  "hostSharedDir": "/var/lib/minicloud/shared",\n'
    printf '  "hostImageDir": "/var/lib/minicloud/images",\n'
    printf '  "hostVmDir": "/var/lib/minicloud/vms",\n'
    printf '  "imageDir": "%s",\n' "$LAB/images"
    printf '  "bridge": "%s",\n' "$BR"
    printf '  "gateway": "%s"\n' "$BR_ADDR"
    echo '}'
  } >"$LAB/lab.json.tmp"
  mv -f "$LAB/lab.json.tmp" "$LAB/lab.json"
}

# ---------------------------------------------------------------------------
# per-host state dir and config (idempotent; keeps host_uuid across restarts)
prepare_host() {
  local i=$1 h a uuid
  h=$(hdir "$i"); a=$(addr "$i")
  mkdir -p "$h"/{run/sshd,run/libvirt,lib-libvirt,log-libvirt/qemu,etc-libvirt,cache-libvirt/qemu,ssh,logs} \
    "$h"/minicloud/{images,vms,shared}
  chmod 700 "$h/ssh"
  if [[ ! -s $LAB/hostkeys/h${i}_ed25519 ]]; then
    rm -f "$LAB/hostkeys/h${i}_ed25519"{,.pub}
    ssh-keygen -q -t ed25519 -N '' -C "root@$(hname "$i")" -f "$LAB/hostkeys/h${i}_ed25519"
  fi
  [[ -s $h/host_uuid ]] || cat /proc/sys/kernel/random/uuid >"$h/host_uuid"
  uuid=$(<"$h/host_uuid")

  cat >"$h/etc-libvirt/libvirtd.conf" <<EOF
# generated by infra/lab/lab.sh for $(hname "$i")
host_uuid = "$uuid"
listen_tls = 0
listen_tcp = 0
unix_sock_group = "root"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
auth_unix_ro = "none"
auth_unix_rw = "none"
max_clients = 500
max_workers = 20
max_client_requests = 20
log_filters = "2:qemu.qemu_capabilities 2:util.filecache"
log_outputs = "2:file:/var/log/libvirt/libvirtd.log"
EOF
  cat >"$h/etc-libvirt/qemu.conf" <<EOF
# generated by infra/lab/lab.sh for $(hname "$i")
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
migration_host = "$a"
migration_address = "$a"
stdio_handler = "logd"
EOF
  cat >"$h/etc-libvirt/virtlogd.conf" <<EOF
log_outputs = "3:file:/var/log/libvirt/virtlogd.log"
# console logs (<serial><log file=...>) are written by virtlogd: rotate late
max_size = 67108864
max_backups = 2
EOF
  : >"$h/etc-libvirt/libvirt.conf"

  cat >"$h/sshd_config" <<EOF
# generated by infra/lab/lab.sh for $(hname "$i")
ListenAddress $a:22
HostKey $LAB/hostkeys/h${i}_ed25519
PidFile /run/sshd.pid
PermitRootLogin prohibit-password
PubkeyAuthentication yes
AuthorizedKeysFile /root/.ssh/authorized_keys
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
UseDNS no
X11Forwarding no
PrintMotd no
PrintLastLog no
MaxStartups 200:30:400
MaxSessions 100
Subsystem sftp internal-sftp
EOF

  # root's ssh dir inside the host: platform key authorized, lab key as identity
  cp -f "$LAB/id_ed25519.pub" "$h/ssh/authorized_keys"
  install -m 600 "$LAB/id_ed25519" "$h/ssh/id_ed25519"
  cp -f "$LAB/id_ed25519.pub" "$h/ssh/id_ed25519.pub"
  cat >"$h/ssh/config" <<EOF
Host *
  BatchMode yes
  StrictHostKeyChecking yes
  UserKnownHostsFile /root/.ssh/known_hosts
  GlobalKnownHostsFile /dev/null
  IdentityFile /root/.ssh/id_ed25519
  ConnectTimeout 10
  LogLevel ERROR
EOF
  # saved qemu capabilities: new hosts skip the qemu probe
  if [[ -d $LAB/capcache/capabilities ]] && [[ ! -d $h/cache-libvirt/qemu/capabilities ]]; then
    cp -a "$LAB/capcache/capabilities" "$h/cache-libvirt/qemu/"
  fi
}

# network: netns + veth on the bridge (idempotent)
setup_net() {
  local i=$1 ns v a
  ns=$(nsname "$i"); v=$(vethname "$i"); a=$(addr "$i")
  [[ -e /run/netns/$ns ]] || ip netns add "$ns"
  if ! ip -n "$ns" link show eth0 >/dev/null 2>&1; then
    ip link del "$v" 2>/dev/null || true
    ip link add "$v" type veth peer name eth0 netns "$ns"
  fi
  sysctl -qw "net.ipv6.conf.$v.disable_ipv6=1" 2>/dev/null || true
  ip link set "$v" master "$BR"
  ip link set "$v" up
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 2>/dev/null || true
  ip -n "$ns" link set lo up
  ip -n "$ns" -4 addr show dev eth0 | grep -q "inet $a/24" || ip -n "$ns" addr add "$a/24" dev eth0
  ip -n "$ns" link set eth0 up
}

teardown_net() {
  local i=$1
  ip link del "$(vethname "$i")" 2>/dev/null || true
  [[ -e /run/netns/$(nsname "$i") ]] && ip netns del "$(nsname "$i")" 2>/dev/null || true
}

# --- runs INSIDE the host (new mount+uts ns, in the netns) -------------------
# `lab.sh _init I`: mounts, daemons, then becomes the keeper (sleep infinity)
host_init() {
  local i=$1 h
  h=$(hdir "$i")
  cd /
  if [[ ${MC_KEEPER_RERUN:-} == 1 ]]; then # SIGUSR1 from lab.sh: restart missing daemons
    start_daemons "$i" "$(cat "$h/rerun.what" 2>/dev/null || echo all)"
    return
  fi
  echo "$PPID" >"$h/keeper.pid" # the mc-keeper that runs us
  hostname "$(hname "$i")"
  mkdir -p /var/lib/libvirt /var/log/libvirt /etc/libvirt /var/cache/libvirt /root/.ssh /var/lib/minicloud
  private_dev "$h"
  mount --bind "$h/run" /run
  mount --bind "$h/lib-libvirt" /var/lib/libvirt
  mount --bind "$h/log-libvirt" /var/log/libvirt
  mount --bind "$h/etc-libvirt" /etc/libvirt
  mount --bind "$h/cache-libvirt" /var/cache/libvirt
  mount --bind "$h/ssh" /root/.ssh
  mount --bind "$h/minicloud" /var/lib/minicloud
  mount --bind "$LAB/shared" /var/lib/minicloud/shared
  mount --bind "$LAB/etc-hosts" /etc/hosts
  mount --bind "$LAB/resolv.conf" /etc/resolv.conf
  start_daemons "$i" all
}

# A /dev without /dev/kvm: KVM hangs on this machine kind (TCG only), and with
# /dev/kvm visible libvirt re-probes qemu whenever KVM's reported host cpuid
# wobbles ("host cpuid changed"), costing ~8 s per host start. Without it the
# saved capabilities cache stays valid and type='kvm' fails fast and clearly.
private_dev() {
  local h=$1 s=$1/devstage d n
  mkdir -p "$s"
  mount -t tmpfs -o mode=755,nosuid,size=1m mc-dev "$s"
  for d in null:1:3 zero:1:5 full:1:7 random:1:8 urandom:1:9 tty:5:0 console:5:1 ptmx:5:2 kmsg:1:11 fuse:10:229 \
    net/tun:10:200 loop-control:10:237; do
    n=${d%%:*}
    mkdir -p "$(dirname "$s/$n")"
    IFS=: read -r _ ma mi <<<"$d"
    mknod -m 666 "$s/$n" c "$ma" "$mi"
  done
  chmod 600 "$s/console" "$s/kmsg"
  ln -s /proc/self/fd "$s/fd"
  ln -s /proc/self/fd/0 "$s/stdin"
  ln -s /proc/self/fd/1 "$s/stdout"
  ln -s /proc/self/fd/2 "$s/stderr"
  mkdir -p "$s/pts" "$s/shm" "$s/mqueue"
  mount --rbind /dev/pts "$s/pts" # same pty numbers as the root namespace
  mount -t tmpfs -o mode=1777,nosuid,nodev mc-shm "$s/shm"
  mount --move "$s" /dev
}

# start the daemons of host I that are not running (inside the host)
start_daemons() { # I all|sshd
  local i=$1 what=$2 h
  h=$(hdir "$i")
  mkdir -p /run/sshd /run/libvirt /var/log/libvirt/qemu
  if [[ $what == all ]]; then
    if ! daemon_pid "$i" virtlogd >/dev/null; then
      rm -f /run/virtlogd.pid
      setsid -w virtlogd -d -p /run/virtlogd.pid -f /etc/libvirt/virtlogd.conf </dev/null >>"$h/logs/virtlogd.out" 2>&1 \
        || { echo "virtlogd failed to start" >&2; return 1; }
    fi
    if ! daemon_pid "$i" libvirtd >/dev/null; then
      rm -f /run/libvirtd.pid
      setsid -w libvirtd -d -p /run/libvirtd.pid -f /etc/libvirt/libvirtd.conf </dev/null >>"$h/logs/libvirtd.out" 2>&1 \
        || { echo "libvirtd failed to start" >&2; return 1; }
    fi
  fi
  if ! daemon_pid "$i" sshd >/dev/null; then
    rm -f /run/sshd.pid
    setsid -w /usr/sbin/sshd -f "$h/sshd_config" -E "$h/logs/sshd.log" </dev/null >>"$h/logs/sshd.out" 2>&1 \
      || { echo "sshd failed to start" >&2; return 1; }
  fi
}

# ---------------------------------------------------------------------------
launch_host() { # I : in root ns; host must not be running
  local i=$1 h
  h=$(hdir "$i")
  # leftovers of a crashed host: processes in its netns
  [[ -z $(ns_pids "$i") ]] || { log "h$i: killing leftover processes"; kill_host_procs "$i"; }
  rm -f "$h/keeper.pid" "$h/run/"*.pid
  setup_net "$i"
  setsid ip netns exec "$(nsname "$i")" unshare -m -u --propagation private \
    env -i HOME=/root PATH=$CLEAN_PATH LC_ALL=C.UTF-8 MINICLOUD_LAB_DIR="$LAB" \
    "$LAB/bin/mc-keeper" bash "$SELF" _init "$i" </dev/null >>"$h/logs/init.log" 2>&1 9>&- &
}

restart_daemons() { # I all|sshd : ask host I's keeper to start missing daemons
  local k
  k=$(keeper_pid "$1") || die "host $1 is not running"
  echo "$2" >"$(hdir "$1")/rerun.what"
  kill -USR1 "$k"
}

probe_host() { # I : one ssh round trip that exercises sshd + libvirtd
  timeout 20 ssh "${SSH_OPTS[@]}" "root@$(addr "$1")" virsh -c qemu:///system version >/dev/null 2>&1
}

host_healthy() { # I
  keeper_pid "$1" >/dev/null && daemon_pid "$1" virtlogd >/dev/null && daemon_pid "$1" libvirtd >/dev/null && daemon_pid "$1" sshd >/dev/null
}

dump_host_logs() {
  local i=$1 h f
  h=$(hdir "$i")
  for f in "$h/logs/init.log" "$h/logs/libvirtd.out" "$h/log-libvirt/libvirtd.log" "$h/logs/virtlogd.out" "$h/logs/sshd.log" "$h/logs/sshd.out"; do
    [[ -s $f ]] || continue
    echo "----- h$i: $f (last 25 lines)" >&2
    tail -n 25 "$f" >&2
  done
}

wait_hosts() { # indices... : wait until ssh+virsh works on each, in parallel
  local i pids=() rc=0 t0=$SECONDS
  for i in "$@"; do
    (
      deadline=$((SECONDS + TIMEOUT))
      while ((SECONDS < deadline)); do
        if ! keeper_pid "$i" >/dev/null && [[ ! -s $(hdir "$i")/keeper.pid.tmp ]]; then
          # init still starting, or died
          sleep 0.1
        fi
        probe_host "$i" && exit 0
        sleep 0.1
      done
      exit 1
    ) &
    pids+=($!)
  done
  local k=0
  for i in "$@"; do
    if ! wait "${pids[$k]}"; then
      log "h$i ($(addr "$i")) did not answer 'ssh root@$(addr "$i") virsh -c qemu:///system version' within ${TIMEOUT}s"
      dump_host_logs "$i"
      ssh "${SSH_OPTS[@]}" "root@$(addr "$i")" virsh -c qemu:///system version 2>&1 | tail -n 5 >&2 || true
      rc=1
    fi
    k=$((k + 1))
  done
  return $rc
}

save_capcache() { # I: keep the qemu capabilities probed by host I for new hosts
  local src
  src=$(hdir "$1")/cache-libvirt/qemu/capabilities
  ls "$src"/*.xml >/dev/null 2>&1 || return 0
  # unchanged? (libvirt rewrites them after a qemu/libvirt upgrade)
  [[ -d $LAB/capcache/capabilities ]] && diff -rq "$src" "$LAB/capcache/capabilities" >/dev/null 2>&1 && return 0
  rm -rf "$LAB/capcache/capabilities.tmp"
  cp -a "$src" "$LAB/capcache/capabilities.tmp" && rm -rf "$LAB/capcache/capabilities" &&
    mv "$LAB/capcache/capabilities.tmp" "$LAB/capcache/capabilities"
  log "saved qemu capabilities cache ($LAB/capcache)"
}

cmd_up() {
  local n=${1:-2} i t0=$SECONDS start=() all=() running
  [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= MAX_HOSTS)) || die "usage: lab.sh up [N]  (1..$MAX_HOSTS)"
  ensure_global
  running=$(running_hosts | tr '\n' ' ')
  local maxi=$n
  for i in $running; do ((i > maxi)) && maxi=$i; done
  write_etc_hosts "$maxi"

  for ((i = 1; i <= n; i++)); do
    if keeper_pid "$i" >/dev/null; then
      if host_healthy "$i"; then
        continue
      fi
      log "h$i: restarting dead daemons"
      restart_daemons "$i" all
    else
      prepare_host "$i"
      start+=("$i")
    fi
  done
  mapfile -t all < <({ running_hosts; printf '%s\n' "${start[@]}"; } | grep -E '^[0-9]+$' | sort -nu)
  write_known_hosts "${all[@]}"

  if ((${#start[@]})); then
    log "starting hosts: ${start[*]/#/h}"
    local rest=("${start[@]}")
    if [[ ! -d $LAB/capcache/capabilities ]] || ! ls "$LAB/capcache/capabilities"/*.xml >/dev/null 2>&1; then
      # first run: let one host probe qemu, the others copy its cache
      log "first run: probing qemu capabilities on h${start[0]} (~2 s; later hosts reuse the cache)"
      launch_host "${start[0]}"
      wait_hosts "${start[0]}" || die "host h${start[0]} failed to come up (logs above)"
      save_capcache "${start[0]}"
      rest=("${start[@]:1}")
      for i in "${rest[@]}"; do prepare_host "$i"; done
    fi
    if ((${#rest[@]})); then
      for i in "${rest[@]}"; do launch_host "$i"; done
      wait_hosts "${rest[@]}" || die "some hosts failed to come up (logs above)"
    fi
  fi
  # check every requested host end to end (cheap when already up)
  local chk=()
  for ((i = 1; i <= n; i++)); do [[ " ${start[*]} " == *" $i "* ]] || chk+=("$i"); done
  ((${#chk[@]} == 0)) || wait_hosts "${chk[@]}" || die "some hosts are unhealthy (logs above)"
  save_capcache "${start[0]:-1}" || true

  mapfile -t all < <(running_hosts)
  write_known_hosts "${all[@]}"
  write_outputs "${all[@]}"
  ((maxi > n)) && log "note: hosts beyond h$n are still running: lab has ${#all[@]} hosts"
  log "lab up: ${#all[@]} hosts (${all[*]/#/h}) in $((SECONDS - t0)) s; $LAB/lab.json"
}

destroy_domains() { # I
  local d doms k
  k=$(keeper_pid "$1") || return 0
  v() { timeout 15 nsenter -t "$k" -n -m -u -- env -i HOME=/root PATH=$CLEAN_PATH virsh -q -c qemu:///system "$@"; }
  doms=$(v list --all --name 2>/dev/null) || return 0
  for d in $doms; do
    v destroy "$d" >/dev/null 2>&1 || true
    v undefine "$d" >/dev/null 2>&1 || true
  done
}

stop_host() { # I : kill everything of host I (domains first, politely)
  local i=$1
  if keeper_pid "$i" >/dev/null && daemon_pid "$i" libvirtd >/dev/null; then destroy_domains "$i"; fi
  kill_host_procs "$i"
}

# kill every process of host I: first all but the keeper (so that it reaps
# them: no zombies left behind), then the keeper itself
kill_host_procs() {
  local i=$1 k p pids=()
  k=$(pid_alive "$(hdir "$i")/keeper.pid" mc-keeper) || k=
  for p in $(ns_pids "$i"); do [[ $p == "$k" ]] || pids+=("$p"); done
  ((${#pids[@]} == 0)) || kill_pids "${pids[@]}"
  [[ -z $k ]] || kill_pids "$k"
  rm -f "$(hdir "$i")/keeper.pid"
}

cmd_down() {
  local purge=0 i idx
  [[ ${1:-} == --purge ]] && purge=1
  mapfile -t idx < <(known_indices)
  for i in "${idx[@]}"; do
    stop_host "$i"
    teardown_net "$i"
    rm -rf "$(hdir "$i")"
  done
  ip link show "$BR" >/dev/null 2>&1 && ip link del "$BR"
  rm -f "$LAB/lab.json" "$LAB/hosts.txt" "$LAB/etc-hosts"
  ((${#idx[@]})) && log "lab down: stopped ${idx[*]/#/h}" || log "lab down: nothing was running"
  if ((purge)); then
    rm -rf "$LAB"
    rmdir /var/lib/minicloud 2>/dev/null || true
    log "purged $LAB"
  fi
}

cmd_status() {
  local i any=0 k st doms
  for i in $(known_indices); do
    any=1
    st=()
    for d in virtlogd libvirtd sshd; do
      if daemon_pid "$i" "$d" >/dev/null 2>&1; then st+=("$d=up"); else st+=("$d=DOWN"); fi
    done
    if k=$(keeper_pid "$i"); then
      printf '%s %s  ns=up(keeper %s)  %s\n' "$(hname "$i")" "$(addr "$i")" "$k" "${st[*]}"
      doms=$(timeout 10 nsenter -t "$k" -n -m -u -- virsh -q -c qemu:///system list --all 2>/dev/null | sed 's/^/    /') || doms="    (virsh failed)"
      [[ -n $doms ]] && echo "$doms" || echo "    (no domains)"
    else
      printf '%s %s  ns=DOWN\n' "$(hname "$i")" "$(addr "$i")"
    fi
  done
  ((any)) || echo "lab is down"
  ip link show "$BR" >/dev/null 2>&1 && echo "bridge $BR $BR_ADDR/24 up" || true
}

cmd_sshd_stop() {
  local i=$1 p comm pids=()
  check_index "$i"
  for p in $(ns_pids "$i"); do
    comm=$(cat /proc/"$p"/comm 2>/dev/null) || continue
    [[ $comm == sshd ]] && pids+=("$p")
  done
  ((${#pids[@]})) && kill_pids "${pids[@]}"
  rm -f "$(hdir "$i")/run/sshd.pid"
  log "h$i: sshd stopped (${#pids[@]} processes)"
}
cmd_sshd_start() {
  local i=$1
  check_index "$i"
  restart_daemons "$i" sshd
  local t
  for t in $(seq 100); do ssh "${SSH_OPTS[@]}" "root@$(addr "$i")" true 2>/dev/null && break; sleep 0.1; done
  daemon_pid "$i" sshd >/dev/null || die "h$i: sshd did not start (see $(hdir "$i")/logs/sshd.log)"
  log "h$i: sshd started"
}
cmd_host_stop() {
  local i=$1
  check_index "$i"
  # hard power-off: no polite domain shutdown, VMs die with the host
  kill_host_procs "$i"
  log "h$i: host stopped (all its processes killed, VMs included; state kept, veth stays)"
}
cmd_host_start() {
  local i=$1
  check_index "$i"
  [[ -d $(hdir "$i") ]] || die "h$i has no state; use 'lab.sh up N'"
  if keeper_pid "$i" >/dev/null && host_healthy "$i"; then log "h$i already running"; return 0; fi
  ensure_global
  if keeper_pid "$i" >/dev/null; then
    restart_daemons "$i" all
  else
    prepare_host "$i"
    launch_host "$i"
  fi
  wait_hosts "$i" || die "h$i failed to start"
  local all
  mapfile -t all < <(running_hosts)
  write_known_hosts "${all[@]}"
  write_outputs "${all[@]}"
  log "h$i: host started"
}

close_fds() { # daemons must not inherit the lab lock or callers' pipes
  local fd n
  for fd in /proc/$$/fd/*; do
    n=${fd##*/}
    ((n > 2 && n != 255)) && eval "exec $n>&-" 2>/dev/null || true
  done
}

main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
    _init) close_fds; host_init "$@"; return ;;
  esac
  need_root
  case $cmd in
    up | down | host-start | sshd-start) need_tools ;;
  esac
  case $cmd in
    up | down | host-stop | host-start | sshd-stop | sshd-start)
      mkdir -p "$LAB"
      exec 9>"$LAB/.lock"
      flock -w 300 9 || die "another lab.sh holds $LAB/.lock"
      ;;
  esac
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status ;;
    sshd-stop) cmd_sshd_stop "${1:-}" ;;
    sshd-start) cmd_sshd_start "${1:-}" ;;
    host-stop) cmd_host_stop "${1:-}" ;;
    host-start) cmd_host_start "${1:-}" ;;
    net-down) check_index "${1:-}"; ip link set "$(vethname "$1")" down; log "h$1: link down" ;;
    net-up) check_index "${1:-}"; ip link set "$(vethname "$1")" up; log "h$1: link up" ;;
    exec)
      check_index "${1:-}"
      local i=$1; shift
      (($#)) || set -- bash
      hexec "$i" "$@"
      ;;
    ssh)
      check_index "${1:-}"
      local i=$1; shift
      exec ssh "${SSH_OPTS[@]}" "root@$(addr "$i")" "$@"
      ;;
    env)
      echo "MINICLOUD_LAB_DIR=$LAB"
      echo "MINICLOUD_LAB_KEY=$LAB/id_ed25519"
      echo "MINICLOUD_LAB_KNOWN_HOSTS=$LAB/known_hosts"
      echo "MINICLOUD_LAB_HOSTS=\"$(running_hosts | while read -r i; do addr "$i"; done | tr '\n' ' ' | sed 's/ $//')\""
      ;;
    *)
      sed -n '2,20p' "$SELF" | sed 's/^# \{0,1\}//'
      [[ -z $cmd || $cmd == -h || $cmd == --help || $cmd == help ]] || exit 2
      ;;
  esac
}

main "$@"
