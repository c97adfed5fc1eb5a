import { ADDRESS_PATTERN, SSH_USER_PATTERN } from '@minicloud/contracts';
import type { ConcreteStrategy, MigrationStorageKind } from '@minicloud/contracts';
import { virsh } from './commands';
import { ParseError } from './errors';
import { domainName, vmDir } from './layout';

/**
 * Live and cold migration with virsh (libvirt 9.0, QEMU 7.2): argv builders and the parsers of what they print.
 * Every number is checked before it reaches a host; the target is a host name or an IP literal (ADDRESS_PATTERN).
 */

/** Where the source host's libvirtd connects (peer-to-peer): `qemu+ssh://[user@]host[:port]/system`. */
export interface MigrationTarget {
  targetAddress: string;
  /** The ssh user the source's libvirtd uses on the target (default: ssh's own, i.e. root's config on the source). */
  targetSshUser?: string;
  targetSshPort?: number;
}

export interface LiveMigrateOptions extends MigrationTarget {
  live: true;
  /** `shared`: both hosts see the disk (adds --unsafe: the lab's disks are not cache=none); `copy`: --copy-storage-all into a pre-created disk. */
  storage: MigrationStorageKind;
  strategy: ConcreteStrategy;
  /**
   * `copy` only: the target already has the disk's backing file (the image cache) and a pre-created overlay on it,
   * so only the top layer moves (--copy-storage-inc) instead of the whole disk (--copy-storage-all).
   */
  incremental?: boolean;
  /** Cap of the migration stream, MiB/s (--bandwidth). */
  bandwidthMiBs?: number;
  /**
   * Longest pause at the switch-over. virsh migrate has no flag for it: migrationCommands() runs
   * `migrate-setmaxdowntime` before the migration (QEMU keeps it as a migration parameter).
   */
  maxDowntimeMs?: number;
  /** After this many seconds virsh acts: `suspend` (finish paused, the default) or `postcopy` (switch; strategy postcopy only). */
  timeoutSec?: number;
  timeoutAction?: 'suspend' | 'postcopy';
  /** xbzrle page cache (--comp-xbzrle-cache), bytes; the cost model assumes it holds the guest's memory. */
  xbzrleCacheBytes?: number;
  /** postcopy: switch automatically after the first pre-copy pass (default) or wait for migrate-postcopy. */
  postcopySwitch?: 'after-first-pass' | 'manual';
  /** Any strategy: also start with --postcopy so that migrate-postcopy can force the migration to complete. */
  allowPostcopy?: boolean;
}

/**
 * A stopped VM: only the definition moves. The disk is the caller's business (libvirt copies no disk offline):
 * `storage` says how (shared, or copied beforehand) and changes nothing in the argv.
 */
export interface OfflineMigrateOptions extends MigrationTarget {
  live: false;
  storage?: MigrationStorageKind;
  /** A cold migration has no strategy; 'precopy' is accepted for symmetry with the live options. */
  strategy?: 'precopy';
}

export type MigrateOptions = LiveMigrateOptions | OfflineMigrateOptions;
/** The name the migrator uses. */
export type VirshMigrateOptions = MigrateOptions;

function wholeNumber(what: string, n: number, min: number, max: number): string {
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`${what} must be a whole number in ${min}..${max}, got ${n}`);
  return String(n);
}

/** QEMU's own bounds: downtime-limit ≤ 2000 s; a bandwidth cap ≤ 1 TiB/s; the xbzrle cache ≥ one page. */
const LIMITS = {
  downtimeMs: [1, 2_000_000],
  bandwidthMiBs: [1, 1_048_576],
  timeoutSec: [1, 86_400],
  xbzrleCacheBytes: [4096, 2 ** 40],
  dirtyrateSeconds: [1, 60],
} as const;

export function migrationTargetUri(t: MigrationTarget): string {
  const a = t.targetAddress;
  if (typeof a !== 'string' || !a || a.length > 253 || !ADDRESS_PATTERN.test(a)) throw new Error(`target address must be a host name or an IP address, got ${JSON.stringify(a)}`);
  const host = a.includes(':') ? `[${a}]` : a;
  if (t.targetSshUser !== undefined && !SSH_USER_PATTERN.test(t.targetSshUser)) throw new Error(`ssh user must be a plain user name, got ${JSON.stringify(t.targetSshUser)}`);
  const user = t.targetSshUser !== undefined ? `${t.targetSshUser}@` : '';
  const port = t.targetSshPort !== undefined ? `:${wholeNumber('ssh port', t.targetSshPort, 1, 65535)}` : '';
  return `qemu+ssh://${user}${host}${port}/system`;
}

const STRATEGY_FLAGS: Record<ConcreteStrategy, string[]> = {
  precopy: [],
  compressed: ['--compressed', '--comp-methods', 'xbzrle'],
  'auto-converge': ['--auto-converge'],
  postcopy: ['--postcopy'],
};

/**
 * `virsh migrate`: live (peer-to-peer, the definition moves with the VM) or offline (a stopped VM's definition).
 * `--verbose` prints "Migration: [ 42 %]" progress on stderr.
 */
export function virshMigrate(vmId: string, opts: MigrateOptions): string[] {
  const name = domainName(vmId);
  const uri = migrationTargetUri(opts);
  if (!opts.live) {
    if (opts.strategy !== undefined && opts.strategy !== 'precopy') throw new Error(`an offline migration has no ${JSON.stringify(opts.strategy)} strategy`);
    return virsh('migrate', '--offline', '--persistent', '--undefinesource', name, uri);
  }
  if (!(opts.strategy in STRATEGY_FLAGS)) throw new Error(`unknown migration strategy ${JSON.stringify(opts.strategy)}`);
  if (opts.storage !== 'shared' && opts.storage !== 'copy') throw new Error(`storage must be "shared" or "copy", got ${JSON.stringify(opts.storage)}`);
  if (opts.maxDowntimeMs !== undefined) wholeNumber('max downtime (ms)', opts.maxDowntimeMs, ...LIMITS.downtimeMs);
  const argv = ['migrate', '--live', '--p2p', '--persistent', '--undefinesource', '--verbose'];
  argv.push(opts.storage === 'copy' ? (opts.incremental ? '--copy-storage-inc' : '--copy-storage-all') : '--unsafe');
  argv.push(...STRATEGY_FLAGS[opts.strategy]);
  if (opts.allowPostcopy && opts.strategy !== 'postcopy') argv.push('--postcopy');
  if (opts.xbzrleCacheBytes !== undefined) {
    if (opts.strategy !== 'compressed') throw new Error('an xbzrle cache size only applies to the compressed strategy');
    argv.push('--comp-xbzrle-cache', wholeNumber('xbzrle cache (bytes)', opts.xbzrleCacheBytes, ...LIMITS.xbzrleCacheBytes));
  }
  if (opts.strategy === 'postcopy' && (opts.postcopySwitch ?? 'after-first-pass') === 'after-first-pass') argv.push('--postcopy-after-precopy');
  if (opts.postcopySwitch !== undefined && opts.strategy !== 'postcopy') throw new Error('postcopySwitch only applies to the postcopy strategy');
  if (opts.bandwidthMiBs !== undefined) argv.push('--bandwidth', wholeNumber('bandwidth (MiB/s)', opts.bandwidthMiBs, ...LIMITS.bandwidthMiBs));
  if (opts.timeoutSec !== undefined) {
    const action = opts.timeoutAction ?? 'suspend';
    if (action === 'postcopy' && opts.strategy !== 'postcopy' && !opts.allowPostcopy) throw new Error('a post-copy timeout action needs the postcopy strategy or allowPostcopy');
    if (action !== 'suspend' && action !== 'postcopy') throw new Error(`unknown timeout action ${JSON.stringify(action)}`);
    argv.push('--timeout', wholeNumber('timeout (s)', opts.timeoutSec, ...LIMITS.timeoutSec), action === 'postcopy' ? '--timeout-postcopy' : '--timeout-suspend');
  } else if (opts.timeoutAction !== undefined) {
    throw new Error('a timeout action needs timeoutSec');
  }
  return virsh(...argv, name, uri);
}

/** Everything to run on the source host, in order: settings virsh migrate has no flag for, then the migration. */
export function migrationCommands(vmId: string, opts: MigrateOptions): { before: string[][]; migrate: string[] } {
  const migrate = virshMigrate(vmId, opts);
  const before: string[][] = [];
  if (opts.live && opts.maxDowntimeMs !== undefined) before.push(virshMigrateSetMaxDowntime(vmId, opts.maxDowntimeMs));
  return { before, migrate };
}

/** The running (or, with `completed`, the just finished) job's statistics; `keep` leaves completed stats readable again. */
export function virshDomjobinfo(vmId: string, opts: { completed?: boolean; keep?: boolean } = {}): string[] {
  if (opts.keep && !opts.completed) throw new Error('keep only applies to completed job statistics');
  return virsh('domjobinfo', domainName(vmId), ...(opts.completed ? ['--completed'] : []), ...(opts.keep ? ['--keep-completed'] : []));
}

export function virshDomjobabort(vmId: string): string[] {
  return virsh('domjobabort', domainName(vmId));
}

export function virshMigrateSetMaxDowntime(vmId: string, ms: number): string[] {
  return virsh('migrate-setmaxdowntime', domainName(vmId), wholeNumber('max downtime (ms)', ms, ...LIMITS.downtimeMs));
}

/** A running migration's bandwidth cap, MiB/s. */
export function virshMigrateSetSpeed(vmId: string, mibs: number): string[] {
  return virsh('migrate-setspeed', domainName(vmId), wholeNumber('bandwidth (MiB/s)', mibs, ...LIMITS.bandwidthMiBs));
}

/** Switches a migration started with --postcopy to post-copy now. */
export function virshMigratePostcopy(vmId: string): string[] {
  return virsh('migrate-postcopy', domainName(vmId));
}

/** Starts a dirty-rate measurement (page sampling) over `seconds` (1..60); read it with virshDomstatsDirtyrate. */
export function virshDomdirtyrateCalc(vmId: string, seconds: number): string[] {
  return virsh('domdirtyrate-calc', domainName(vmId), '--seconds', wholeNumber('dirty-rate period (s)', seconds, ...LIMITS.dirtyrateSeconds));
}

export function virshDomstatsDirtyrate(vmId: string): string[] {
  return virsh('domstats', '--dirtyrate', domainName(vmId));
}

/** The pid file of a job-completed listener, in the VM's directory on the host it listens on. */
export const jobCompletedPidFile = (vmId: string) => `${vmDir(vmId)}/.job-completed-event.pid`;

/**
 * Listening for the domain's `job-completed` event on the source of a migration, and stopping the listener.
 *
 * After a post-copy switch libvirt keeps no completed job on the destination (`domjobinfo --completed` says
 * `Job type: None`) and the source's domain is gone: the figures exist only in the source's job-completed event, so
 * the listener must run before the job ends (libvirt does not replay events). `watch` runs
 * `virsh event --domain D --event job-completed --timeout S` (it exits after the first such event, or after S seconds),
 * recording its pid in the VM's directory; `stop` ends it (a failed or aborted job sends no event) — it kills only a
 * process whose command line is that listener's. The shell scripts are constants; every value is a positional argument.
 */
export function jobCompletedEventCommands(vmId: string, timeoutS: number): { watch: string[]; stop: string[] } {
  const name = domainName(vmId);
  const pidFile = jobCompletedPidFile(vmId);
  const listen = virsh('event', '--domain', name, '--event', 'job-completed', '--timeout', wholeNumber('event timeout (s)', timeoutS, ...LIMITS.timeoutSec));
  return {
    watch: ['sh', '-c', 'p="$1"; shift; "$@" & c=$!; echo "$c" > "$p" 2>/dev/null; wait "$c"; r=$?; rm -f "$p"; exit "$r"', 'sh', pidFile, ...listen],
    stop: ['sh', '-c', 'c=$(cat "$1" 2>/dev/null) && [ -n "$c" ] && grep -qa job-completed "/proc/$c/cmdline" 2>/dev/null && kill "$c"; rm -f "$1"; exit 0', 'sh', pidFile],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// parsers

export const DOMAIN_JOB_TYPES = ['None', 'Bounded', 'Unbounded', 'Completed', 'Failed', 'Cancelled'] as const;
export type DomainJobType = (typeof DOMAIN_JOB_TYPES)[number];

/** `virsh domjobinfo` in numbers (bytes, ms, pages). A field virsh did not print is undefined, never 0. */
export interface DomainJobInfo {
  jobType: DomainJobType;
  /** "Outgoing migration", "Incoming migration", "Save", … */
  operation?: string;
  timeElapsedMs?: number;
  timeElapsedNetMs?: number;
  timeRemainingMs?: number;
  dataProcessedBytes?: number;
  dataRemainingBytes?: number;
  dataTotalBytes?: number;
  memoryProcessedBytes?: number;
  memoryRemainingBytes?: number;
  memoryTotalBytes?: number;
  memoryBandwidthBytesPerSec?: number;
  dirtyRatePagesPerSec?: number;
  pageSizeBytes?: number;
  /** QEMU's dirty-sync count: the pre-copy round. */
  iteration?: number;
  postcopyRequests?: number;
  diskProcessedBytes?: number;
  diskRemainingBytes?: number;
  diskTotalBytes?: number;
  diskBandwidthBytesPerSec?: number;
  /** Pages sent as a marker only (all bytes equal, usually zero). */
  constantPages?: number;
  normalPages?: number;
  normalBytes?: number;
  /** While running: QEMU's estimate of the switch-over pause. */
  expectedDowntimeMs?: number;
  /** Once completed: the pause the guest had. */
  totalDowntimeMs?: number;
  downtimeNetMs?: number;
  setupTimeMs?: number;
  compressionCacheBytes?: number;
  /** xbzrle-encoded bytes sent, and the pages they encode (pages that overflowed or missed the cache went raw). */
  compressedBytes?: number;
  compressedPages?: number;
  compressionCacheMisses?: number;
  compressionOverflows?: number;
  autoConvergeThrottlePercent?: number;
  errorMessage?: string;
}

/** The name the migrator uses. */
export type MigrationJobInfo = DomainJobInfo;

type NumericField = Exclude<keyof DomainJobInfo, 'jobType' | 'operation' | 'errorMessage'>;
type Unit = 'ms' | 'size' | 'rate' | 'count' | 'pagesPerSec' | 'bytes' | 'percent';

/** virsh's labels (virsh-domain.c, cmdDomjobinfo) → field and printed unit. */
const JOB_FIELDS: Record<string, [NumericField, Unit]> = {
  'Time elapsed': ['timeElapsedMs', 'ms'],
  'Time elapsed w/o network': ['timeElapsedNetMs', 'ms'],
  'Time remaining': ['timeRemainingMs', 'ms'],
  'Data processed': ['dataProcessedBytes', 'size'],
  'Data remaining': ['dataRemainingBytes', 'size'],
  'Data total': ['dataTotalBytes', 'size'],
  'Memory processed': ['memoryProcessedBytes', 'size'],
  'Memory remaining': ['memoryRemainingBytes', 'size'],
  'Memory total': ['memoryTotalBytes', 'size'],
  'Memory bandwidth': ['memoryBandwidthBytesPerSec', 'rate'],
  'Dirty rate': ['dirtyRatePagesPerSec', 'pagesPerSec'],
  'Page size': ['pageSizeBytes', 'bytes'],
  Iteration: ['iteration', 'count'],
  'Postcopy requests': ['postcopyRequests', 'count'],
  'File processed': ['diskProcessedBytes', 'size'],
  'File remaining': ['diskRemainingBytes', 'size'],
  'File total': ['diskTotalBytes', 'size'],
  'File bandwidth': ['diskBandwidthBytesPerSec', 'rate'],
  'Constant pages': ['constantPages', 'count'],
  'Normal pages': ['normalPages', 'count'],
  'Normal data': ['normalBytes', 'size'],
  'Expected downtime': ['expectedDowntimeMs', 'ms'],
  'Total downtime': ['totalDowntimeMs', 'ms'],
  'Downtime w/o network': ['downtimeNetMs', 'ms'],
  'Setup time': ['setupTimeMs', 'ms'],
  'Compression cache': ['compressionCacheBytes', 'size'],
  'Compressed data': ['compressedBytes', 'size'],
  'Compressed pages': ['compressedPages', 'count'],
  'Compression cache misses': ['compressionCacheMisses', 'count'],
  'Compression overflows': ['compressionOverflows', 'count'],
  'Auto converge throttle': ['autoConvergeThrottlePercent', 'percent'],
};

/** vshPrettyCapacity's units (powers of 1024). */
const SIZE_UNITS: Record<string, number> = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40, PiB: 2 ** 50, EiB: 2 ** 60 };

function jobValue(label: string, unit: Unit, raw: string, out: string): number {
  const what = `virsh domjobinfo "${label}"`;
  const fail = (): never => {
    throw new ParseError(what, `unexpected value ${JSON.stringify(raw)}`, out);
  };
  const whole = (s: string) => {
    const n = Number(s);
    if (!Number.isSafeInteger(n)) fail();
    return n;
  };
  let m: RegExpExecArray | null;
  switch (unit) {
    case 'ms':
      return (m = /^(\d+)\s+ms$/.exec(raw)) ? whole(m[1]) : fail();
    case 'count':
      return (m = /^(\d+)$/.exec(raw)) ? whole(m[1]) : fail();
    case 'pagesPerSec':
      return (m = /^(\d+)\s+pages\/s$/.exec(raw)) ? whole(m[1]) : fail();
    case 'bytes':
      return (m = /^(\d+)\s+bytes$/.exec(raw)) ? whole(m[1]) : fail();
    case 'percent':
      return (m = /^(\d+)(?:\s*%)?$/.exec(raw)) ? whole(m[1]) : fail();
    case 'size':
    case 'rate': {
      m = (unit === 'size' ? /^(\d+(?:\.\d+)?)\s+([KMGTPE]?i?B)$/ : /^(\d+(?:\.\d+)?)\s+([KMGTPE]?i?B)\/s$/).exec(raw);
      if (!m || !(m[2] in SIZE_UNITS)) return fail();
      // virsh prints 3 decimals of the unit: the byte count is exact to ±0.05 % (rounded to a whole byte).
      return Math.round(Number(m[1]) * SIZE_UNITS[m[2]]);
    }
  }
}

/**
 * `virsh domjobinfo DOMAIN [--completed]`: "Label:   value unit" lines, padded with printf("%-17s %-12llu ms").
 * Unknown labels are skipped (newer virsh prints more); a known label with an unreadable value is a ParseError.
 */
export function parseDomjobinfo(text: string): DomainJobInfo {
  let jobType: DomainJobType | undefined;
  const info: Partial<DomainJobInfo> = {};
  for (const rawLine of text.split('\n')) {
    const m = /^([A-Za-z][A-Za-z /-]*?):\s*(.*?)\s*$/.exec(rawLine);
    if (!m) continue;
    const [, label, value] = m;
    if (label === 'Job type') {
      if (!(DOMAIN_JOB_TYPES as readonly string[]).includes(value)) throw new ParseError('virsh domjobinfo', `unknown job type ${JSON.stringify(value)}`, text);
      jobType = value as DomainJobType;
    } else if (label === 'Operation') {
      info.operation = value;
    } else if (label === 'Error message') {
      info.errorMessage = value;
    } else if (label in JOB_FIELDS) {
      const [field, unit] = JOB_FIELDS[label];
      info[field] = jobValue(label, unit, value, text);
    }
  }
  if (!jobType) throw new ParseError('virsh domjobinfo', 'no "Job type:" line', text);
  return { jobType, ...info };
}

/** virDomainDirtyRateStatus. */
const DIRTYRATE_STATUS = ['unstarted', 'measuring', 'measured'] as const;
export type DirtyRateStatus = (typeof DIRTYRATE_STATUS)[number];

export interface DirtyRate {
  status: DirtyRateStatus;
  /** Only once measured (libvirt prints it then). */
  megabytesPerSecond?: number;
  calcPeriodSec?: number;
  calcMode?: string;
}

/**
 * `virsh domstats --dirtyrate DOMAIN` (no pretty-printing: "  dirtyrate.calc_status=2"). The rate is MiB/s of dirtied
 * pages as QEMU's page sampling saw it (a page counts whole however few bytes changed in it).
 */
export function parseDirtyRate(text: string): DirtyRate {
  const kv = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^\s*dirtyrate\.([a-z_.0-9]+)=(.*?)\s*$/.exec(line);
    if (m) kv.set(m[1], m[2]);
  }
  const int = (key: string): number | undefined => {
    const raw = kv.get(key);
    if (raw === undefined) return undefined;
    if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) throw new ParseError(`virsh domstats dirtyrate.${key}`, `not a whole number: ${JSON.stringify(raw)}`, text);
    return Number(raw);
  };
  const code = int('calc_status');
  if (code === undefined) throw new ParseError('virsh domstats --dirtyrate', 'no dirtyrate.calc_status (is the domain running? did domdirtyrate-calc run?)', text);
  const status = DIRTYRATE_STATUS[code];
  if (!status) throw new ParseError('virsh domstats --dirtyrate', `unknown calc_status ${code}`, text);
  const megabytesPerSecond = int('megabytes_per_second');
  if (status === 'measured' && megabytesPerSecond === undefined) throw new ParseError('virsh domstats --dirtyrate', 'measured but no dirtyrate.megabytes_per_second', text);
  const result: DirtyRate = { status };
  if (status === 'measured') result.megabytesPerSecond = megabytesPerSecond;
  const period = int('calc_period');
  if (period !== undefined) result.calcPeriodSec = period;
  if (kv.has('calc_mode')) result.calcMode = kv.get('calc_mode');
  return result;
}

/** The job-completed event's typed parameters (VIR_DOMAIN_JOB_*) → DomainJobInfo fields, in the units virsh prints them (ms, bytes, pages). */
const EVENT_FIELDS: Record<string, NumericField> = {
  time_elapsed: 'timeElapsedMs',
  time_elapsed_net: 'timeElapsedNetMs',
  time_remaining: 'timeRemainingMs',
  downtime: 'totalDowntimeMs',
  downtime_net: 'downtimeNetMs',
  setup_time: 'setupTimeMs',
  data_total: 'dataTotalBytes',
  data_processed: 'dataProcessedBytes',
  data_remaining: 'dataRemainingBytes',
  memory_total: 'memoryTotalBytes',
  memory_processed: 'memoryProcessedBytes',
  memory_remaining: 'memoryRemainingBytes',
  memory_bps: 'memoryBandwidthBytesPerSec',
  memory_constant: 'constantPages',
  memory_normal: 'normalPages',
  memory_normal_bytes: 'normalBytes',
  memory_dirty_rate: 'dirtyRatePagesPerSec',
  memory_iteration: 'iteration',
  memory_postcopy_requests: 'postcopyRequests',
  memory_page_size: 'pageSizeBytes',
  disk_total: 'diskTotalBytes',
  disk_processed: 'diskProcessedBytes',
  disk_remaining: 'diskRemainingBytes',
  disk_bps: 'diskBandwidthBytesPerSec',
  compression_cache: 'compressionCacheBytes',
  compression_bytes: 'compressedBytes',
  compression_pages: 'compressedPages',
  compression_cache_misses: 'compressionCacheMisses',
  compression_overflow: 'compressionOverflows',
  auto_converge_throttle: 'autoConvergeThrottlePercent',
};

/** virDomainJobOperation, as `virsh domjobinfo` names them. */
const JOB_OPERATIONS = ['Unknown', 'Start', 'Save', 'Restore', 'Incoming migration', 'Outgoing migration', 'Snapshot', 'Snapshot revert', 'Dump', 'Backup', 'Snapshot delete'];

/**
 * What `virsh event --event job-completed` printed: "event 'job-completed' for domain 'NAME':" then one
 * "\tfield: value" line per typed parameter (virshEventJobCompletedPrint). Returns the completed job's statistics
 * (jobType `Completed`), or null when no such event was printed (the listener timed out or was stopped). Unknown
 * fields are skipped; a known field that is not a whole number is a ParseError.
 */
export function parseJobCompletedEvent(text: string): DomainJobInfo | null {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => /event 'job-completed' for domain '[^']*':\s*$/.test(l));
  if (start < 0) return null;
  const info: DomainJobInfo = { jobType: 'Completed' };
  for (const line of lines.slice(start + 1)) {
    const m = /^\s+([a-z_]+): (.*?)\s*$/.exec(line);
    if (!m) break; // the end of this event's parameters
    const [, field, value] = m;
    if (field === 'operation') {
      if (!/^\d+$/.test(value)) throw new ParseError('virsh event job-completed "operation"', `unexpected value ${JSON.stringify(value)}`, text);
      info.operation = JOB_OPERATIONS[Number(value)] ?? `operation ${value}`;
    } else if (field === 'errmsg') {
      info.errorMessage = value;
    } else if (field in EVENT_FIELDS) {
      const n = Number(value);
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new ParseError(`virsh event job-completed "${field}"`, `unexpected value ${JSON.stringify(value)}`, text);
      info[EVENT_FIELDS[field]] = n;
    }
  }
  return info;
}
