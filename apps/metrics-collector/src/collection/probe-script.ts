/**
 * The ONE remote command of a collection round: a fixed script (no host- or user-supplied text in it), sent as
 * argv `sh -c <script>` (quoted by libs/ssh). It prints marked sections; parsers.ts reads them. Only the aggregate
 * `cpu` line of /proc/stat is sent, and /proc/uptime is read right before the counters so rates use the host's
 * own clock, not the controller's (SSH latency varies).
 */
export const PROBE_VERSION = 1;
export const IMAGE_STORE = '/var/lib/minicloud';

export const PROBE_SCRIPT = [
  'export LC_ALL=C',
  `echo '==minicloud-probe v${PROBE_VERSION}=='`,
  "echo '==uptime=='; cat /proc/uptime",
  "echo '==stat=='; grep '^cpu ' /proc/stat",
  "echo '==loadavg=='; cat /proc/loadavg",
  "echo '==meminfo=='; grep -E '^(MemTotal|MemAvailable):' /proc/meminfo",
  `echo '==df=='; df -P -B1 ${IMAGE_STORE} 2>&1; echo "==df-exit $?=="`,
  "echo '==netdev=='; cat /proc/net/dev",
  "echo '==domstats=='; virsh -c qemu:///system domstats --raw 2>&1; echo \"==domstats-exit $?==\"",
  "echo '==end=='",
].join('\n');

export const PROBE_ARGV: readonly string[] = ['sh', '-c', PROBE_SCRIPT];
