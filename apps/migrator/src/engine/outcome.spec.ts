import type { MigrationJobInfo } from '@minicloud/hypervisor';
import { actualFigures, completedJobFigures, endReason, isAbortEcho } from './outcome';

const MiB = 2 ** 20;
const dest: MigrationJobInfo = { jobType: 'Completed', timeElapsedMs: 1738, totalDowntimeMs: 110, dataProcessedBytes: 195 * MiB, iteration: 4, memoryBandwidthBytesPerSec: 240 * MiB };
const event: MigrationJobInfo = { jobType: 'Completed', timeElapsedMs: 10_783, totalDowntimeMs: 9, dataProcessedBytes: 251 * MiB, iteration: 3, postcopyRequests: 12 };
const poll: MigrationJobInfo = { jobType: 'Unbounded', timeElapsedMs: 9000, dataProcessedBytes: 200 * MiB, iteration: 3 };

describe('completedJobFigures', () => {
  it("prefers the destination's completed job, then the source's event, then the last poll", () => {
    expect(completedJobFigures(dest, event, poll)).toEqual({ info: dest, from: 'destination' });
    // after a post-copy switch the destination says "Job type: None"
    expect(completedJobFigures({ jobType: 'None' }, event, poll)).toEqual({ info: event, from: 'source job-completed event' });
    expect(completedJobFigures(null, null, poll)).toEqual({ info: poll, from: 'last poll' });
    expect(completedJobFigures({ jobType: 'None' }, null, null)).toEqual({ info: null, from: 'none' });
  });
});

describe('actualFigures', () => {
  it('a job with completed statistics: its time and figures', () => {
    const a = actualFigures({ info: event, from: 'source job-completed event' }, 11_500, undefined, 9000);
    expect(a).toMatchObject({ totalTimeMs: 10_783, jobTimeMs: 10_783, downtimeMs: 9, iterations: 3, postcopyRequests: 12, dataTransferredBytes: 251 * MiB });
    expect(a.probeMs).toBeUndefined();
    expect(a.totalTimeError).toBeCloseTo((10_783 - 9000) / 9000, 6);
    expect(actualFigures({ info: dest, from: 'destination' }, 2000, undefined, null).bandwidthMiBs).toBe(240);
  });

  it('after a probe switch the total is the probe plus the second job', () => {
    const a = actualFigures({ info: dest, from: 'destination' }, 2000, 13_000, 15_000);
    expect(a).toMatchObject({ totalTimeMs: 14_738, jobTimeMs: 1738, probeMs: 13_000 });
    expect(a.totalTimeError).toBeCloseTo((14_738 - 15_000) / 15_000, 6);
  });

  it("keeps what the next migration's cost model learns of the VM: its non-zero memory and the disk copied", () => {
    const withPages: MigrationJobInfo = { ...dest, memoryTotalBytes: 256 * MiB, pageSizeBytes: 4096, constantPages: (168 * MiB) / 4096, diskTotalBytes: 4 * MiB };
    expect(actualFigures({ info: withPages, from: 'destination' }, 2000, undefined, null)).toMatchObject({ usedMemoryBytes: 88 * MiB, diskBytes: 4 * MiB });
  });

  it("a running job's last poll gives no figures: the measured time only", () => {
    const a = actualFigures({ info: poll, from: 'last poll' }, 9400, undefined, undefined);
    expect(a).toEqual({ totalTimeMs: 9400, jobTimeMs: 9400, probeMs: undefined, downtimeMs: undefined, dataTransferredBytes: undefined, iterations: undefined, postcopyRequests: undefined, compressedBytes: undefined, compressionCacheMisses: undefined, bandwidthMiBs: undefined, totalTimeError: undefined });
  });
});

describe('endReason', () => {
  const base = { control: null, timedOut: null, timeoutAction: 'abort', error: '', lost: false, settled: 'the source still runs the VM (source running, target absent)' } as const;
  const eof = 'error: End of file while reading data: : Input/output error';

  it('knows what virsh prints because of an abort', () => {
    expect(isAbortEcho(eof)).toBe(true);
    expect(isAbortEcho('error: End of file from server')).toBe(true);
    expect(isAbortEcho('error: operation aborted: migration out job: canceled by client')).toBe(true);
    expect(isAbortEcho('error: internal error: unable to connect to server')).toBe(false);
  });

  it("a cancel and a timeout abort name themselves, not virsh's echo of the abort", () => {
    expect(endReason({ ...base, control: 'cancel', error: eof })).toBe('cancelled by a user (the job was aborted); the source still runs the VM (source running, target absent)');
    expect(endReason({ ...base, timedOut: 'progress', timeoutS: 60, error: eof })).toBe(
      'progress timeout (abort): no data moved for 60 s, the job was aborted; the source still runs the VM (source running, target absent)',
    );
    expect(endReason({ ...base, timedOut: 'completion', timeoutS: 120, timeoutAction: 'force-complete', error: 'error: internal error: qemu unexpectedly closed the monitor' })).toBe(
      'completion timeout (force-complete): not finished within 120 s, forcing completion did not finish it; the source still runs the VM (source running, target absent); libvirt: error: internal error: qemu unexpectedly closed the monitor',
    );
  });

  it("a failure keeps libvirt's message", () => {
    expect(endReason({ ...base, error: 'error: internal error: unable to connect to server' })).toBe('error: internal error: unable to connect to server; the source still runs the VM (source running, target absent)');
    expect(endReason({ ...base, lost: true, settled: "the VM's domain is on neither host (source absent, target absent)", error: eof })).toMatch(/an operator must look; libvirt: error: End of file/);
  });
});
