import type { DomainJobInfo } from '@minicloud/hypervisor';

/**
 * The cost model's inputs that past migrations teach: per VM (its non-zero memory, its copied disk) from the last
 * completed job's statistics, and per path (source → target host: bandwidth, fixed time, fixed pause) from the last
 * completed migrations between the two hosts. Pure functions; docs/migration.md explains them.
 */

/** What one completed job says about the VM itself (stored with the migration's results). */
export interface JobFacts {
  /** Memory total − constant (zero) pages × page size: the non-zero memory QEMU had to send (U). */
  usedMemoryBytes?: number;
  /** The disk bytes copied (copied storage), when libvirt reports any (S). */
  diskBytes?: number;
}

export function jobFacts(stats: DomainJobInfo | null | undefined): JobFacts {
  if (!stats) return {};
  const out: JobFacts = {};
  const total = stats.memoryTotalBytes;
  const page = stats.pageSizeBytes;
  if (total && total > 0 && page && page > 0 && stats.constantPages !== undefined) {
    // A zero page dirtied and still zero is counted again in a later round: never below 0.
    out.usedMemoryBytes = Math.max(0, Math.min(total, total - stats.constantPages * page));
  }
  if (stats.diskTotalBytes !== undefined || stats.diskProcessedBytes !== undefined) {
    out.diskBytes = Math.max(stats.diskTotalBytes ?? 0, stats.diskProcessedBytes ?? 0);
  }
  return out;
}

/** One completed live migration on a path, as the migrator stored it. */
export interface PastMigration {
  totalTimeMs?: number;
  downtimeMs?: number;
  /** Bytes put on the wire (memory and disk). */
  dataBytes?: number;
  /** libvirt's `Memory bandwidth` of the job. */
  bandwidthBytesPerSec?: number;
  /** It ran with a --bandwidth cap (its bandwidth says nothing about the link). */
  capped: boolean;
  /** A post-copy job's pause is its own short hand-over, not the pre-copy switch-over: left out of Z. */
  strategy?: string;
}

export interface PathFacts {
  /** Mean bandwidth of the uncapped migrations (B when the request names no cap). */
  bandwidthBytesPerSec?: number;
  /** Median of the time no data explains: total − data / bandwidth (O). */
  setupMs?: number;
  /**
   * Median pause of the pre-copy-family jobs (Z). Their last round adds to it, but QEMU stops only once that round
   * fits in the limit, and on the lab the pause did not grow with the dirty rate (33–225 ms idle, 36–121 ms dirtying).
   */
  switchoverMs?: number;
  /** How many migrations these figures come from. */
  samples: number;
}

const ok = (n: number | undefined): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;

export function median(xs: readonly number[]): number | undefined {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Learns B, O and Z of a path from its past migrations (newest first or any order: all are used). */
export function pathFacts(past: readonly PastMigration[]): PathFacts {
  const bws = past.filter((p) => !p.capped && ok(p.bandwidthBytesPerSec) && p.bandwidthBytesPerSec > 0).map((p) => p.bandwidthBytesPerSec!);
  const pauses = past.filter((p) => ok(p.downtimeMs) && p.strategy !== 'postcopy').map((p) => p.downtimeMs!);
  const switchoverMs = median(pauses);
  // total = O + data/B + Z in the model (the last round is part of data/B): O is what is left.
  const unexplained = past
    .filter((p) => ok(p.totalTimeMs) && ok(p.dataBytes) && ok(p.bandwidthBytesPerSec) && p.bandwidthBytesPerSec > 0)
    .map((p) => Math.max(0, p.totalTimeMs! - (p.dataBytes! / p.bandwidthBytesPerSec!) * 1000 - (switchoverMs ?? 0)));
  const out: PathFacts = { samples: past.length };
  if (bws.length) out.bandwidthBytesPerSec = bws.reduce((a, b) => a + b, 0) / bws.length;
  const setup = median(unexplained);
  if (setup !== undefined) out.setupMs = setup;
  if (switchoverMs !== undefined) out.switchoverMs = switchoverMs;
  return out;
}

/** What the migrator's history holds for one migration: the path's facts and the VM's last job's facts. */
export type MigrationHistory = Partial<Omit<PathFacts, 'samples'>> & JobFacts;

/**
 * The cost model's optional inputs from history and the dirty-rate sample: U (at most M: the VM may have shrunk),
 * S only for copied storage, O, Z and the uncapped bandwidth (post-copy's phase) of the path, and W = D × the
 * sample's window when the dirty rate was sampled.
 */
export function learnedInputs(
  h: MigrationHistory | undefined,
  now: { memoryBytes: number; storage: 'shared' | 'copy'; dirtyRateBytesPerSec?: number; sampleSeconds: number },
): { usedMemoryBytes?: number; diskBytes?: number; setupMs?: number; switchoverMs?: number; workingSetBytes?: number; postcopyBandwidthBytesPerSec?: number } {
  const out: ReturnType<typeof learnedInputs> = {};
  if (h?.usedMemoryBytes !== undefined && ok(h.usedMemoryBytes)) out.usedMemoryBytes = Math.min(now.memoryBytes, h.usedMemoryBytes);
  if (now.storage === 'copy' && h?.diskBytes !== undefined && ok(h.diskBytes)) out.diskBytes = h.diskBytes;
  if (h?.setupMs !== undefined && ok(h.setupMs)) out.setupMs = h.setupMs;
  if (h?.switchoverMs !== undefined && ok(h.switchoverMs)) out.switchoverMs = h.switchoverMs;
  // post-copy's phase after the switch ignores a --bandwidth cap: it runs at what the link gives uncapped
  if (h?.bandwidthBytesPerSec !== undefined && ok(h.bandwidthBytesPerSec) && h.bandwidthBytesPerSec > 0) out.postcopyBandwidthBytesPerSec = h.bandwidthBytesPerSec;
  if (now.dirtyRateBytesPerSec !== undefined && ok(now.dirtyRateBytesPerSec) && now.sampleSeconds > 0) {
    out.workingSetBytes = Math.min(now.memoryBytes, now.dirtyRateBytesPerSec * now.sampleSeconds);
  }
  return out;
}
