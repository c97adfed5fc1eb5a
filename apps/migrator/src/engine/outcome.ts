import type { MigrationJobInfo } from '@minicloud/hypervisor';
import { jobFacts, predictionError } from '@minicloud/migration';

const MiB = 1024 * 1024;

/** Statistics of a completed job with figures in them (`Job type: None`, or a job without a time, has none). */
export function hasJobFigures(info: MigrationJobInfo | null | undefined): info is MigrationJobInfo {
  return !!info && info.jobType === 'Completed' && info.timeElapsedMs !== undefined;
}

export type FiguresSource = 'destination' | 'source job-completed event' | 'last poll' | 'none';

/**
 * Where a completed live migration's figures come from: `virsh domjobinfo --completed` on the destination; after a
 * post-copy switch libvirt keeps none there (`Job type: None`), so the source's job-completed event; else the last
 * poll of the running job (its figures stop short of the end: actualFigures keeps none of them).
 */
export function completedJobFigures(
  destination: MigrationJobInfo | null,
  event: MigrationJobInfo | null,
  lastPoll: MigrationJobInfo | null,
): { info: MigrationJobInfo | null; from: FiguresSource } {
  if (hasJobFigures(destination)) return { info: destination, from: 'destination' };
  if (hasJobFigures(event)) return { info: event, from: 'source job-completed event' };
  if (lastPoll) return { info: lastPoll, from: 'last poll' };
  return { info: null, from: 'none' };
}

/** What the record and migration.completed keep of a completed live migration. */
export type ActualFigures = {
  /** What the client waited for: the probe (when one was aborted for another strategy) plus the job that moved the VM. */
  totalTimeMs: number;
  /** The job that moved the VM (equal to totalTimeMs without a probe switch). */
  jobTimeMs: number;
  /** The aborted probe, from the start until the second job started (cleanup of the target included). */
  probeMs?: number;
  downtimeMs?: number;
  dataTransferredBytes?: number;
  iterations?: number;
  postcopyRequests?: number;
  compressedBytes?: number;
  compressionCacheMisses?: number;
  bandwidthMiBs?: number;
  totalTimeError?: number;
  /** The guest's non-zero memory and the disk bytes copied (cost-model inputs of this VM's next migration: jobFacts). */
  usedMemoryBytes?: number;
  diskBytes?: number;
};

/**
 * The actual figures of a completed live migration. `measuredJobMs` is the runner's own clock for the job (used when
 * libvirt gave no completed statistics); `predictedTotalMs` already includes the probe when there was a switch.
 */
export function actualFigures(
  figures: { info: MigrationJobInfo | null; from: FiguresSource },
  measuredJobMs: number,
  probeMs: number | undefined,
  predictedTotalMs: number | null | undefined,
): ActualFigures {
  // A running job's last poll stops short of the end: none of its figures is the job's; only the time is measured.
  const complete = figures.from === 'destination' || figures.from === 'source job-completed event';
  const s = complete ? figures.info : null;
  const jobTimeMs = s?.timeElapsedMs ?? measuredJobMs;
  const totalTimeMs = jobTimeMs + (probeMs ?? 0);
  return {
    totalTimeMs,
    jobTimeMs,
    probeMs,
    downtimeMs: s?.totalDowntimeMs,
    dataTransferredBytes: s?.dataProcessedBytes ?? s?.memoryProcessedBytes,
    iterations: s?.iteration,
    postcopyRequests: s?.postcopyRequests,
    compressedBytes: s?.compressedBytes,
    compressionCacheMisses: s?.compressionCacheMisses,
    bandwidthMiBs: s?.memoryBandwidthBytesPerSec ? s.memoryBandwidthBytesPerSec / MiB : undefined,
    totalTimeError: predictedTotalMs ? predictionError(predictedTotalMs, totalTimeMs) : undefined,
    ...jobFacts(s),
  };
}

/**
 * What virsh migrate prints because the job was aborted: domjobabort ends the migration and virsh's p2p connection
 * reports "End of file while reading data: : Input/output error" (seen on the lab, libvirt 9.0) or "End of file from
 * server"; QEMU says "canceled by client". The consequence of an abort, not its reason.
 */
export function isAbortEcho(libvirtError: string): boolean {
  return /end of file (?:while reading data|from server)|operation aborted|cancell?ed by client|migration (?:out )?job: cancell?ed|connection reset by peer|client socket is closed/i.test(libvirtError);
}

export interface EndFacts {
  control: 'cancel' | 'force-complete' | null;
  timedOut: 'completion' | 'progress' | null;
  timeoutAction: 'abort' | 'force-complete';
  /** The limit that was passed, seconds. */
  timeoutS?: number;
  /** libvirt's message (virsh migrate's error), '' when none. */
  error: string;
  lost: boolean;
  /** Where the VM is, as settle() said. */
  settled: string;
}

/**
 * Why a migration did not complete. An abort (a user's cancel, a timeout) is named as such; libvirt's message is
 * kept only when it says something else than the abort itself.
 */
export function endReason(f: EndFacts): string {
  const libvirt = f.error && !isAbortEcho(f.error) ? `; libvirt: ${f.error}` : '';
  if (f.control === 'cancel') return `cancelled by a user (the job was aborted); ${f.settled}${libvirt}`;
  if (f.timedOut) {
    const limit = f.timeoutS !== undefined ? (f.timedOut === 'progress' ? `: no data moved for ${f.timeoutS} s` : `: not finished within ${f.timeoutS} s`) : '';
    const what = f.timeoutAction === 'abort' ? ', the job was aborted' : ', forcing completion did not finish it';
    return `${f.timedOut} timeout (${f.timeoutAction})${limit}${what}; ${f.settled}${libvirt}`;
  }
  if (f.lost) return `${f.settled}: an operator must look${f.error ? `; libvirt: ${f.error}` : ''}`;
  return `${f.error || 'migration did not complete'}; ${f.settled}`;
}
