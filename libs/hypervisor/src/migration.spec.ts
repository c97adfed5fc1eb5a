import { readFileSync } from 'fs';
import { join } from 'path';
import { ParseError } from './errors';
import {
  jobCompletedEventCommands,
  parseJobCompletedEvent,
  LiveMigrateOptions,
  migrationCommands,
  migrationTargetUri,
  parseDirtyRate,
  parseDomjobinfo,
  virshDomdirtyrateCalc,
  virshDomjobabort,
  virshDomjobinfo,
  virshDomstatsDirtyrate,
  virshMigrate,
  virshMigratePostcopy,
  virshMigrateSetMaxDowntime,
  virshMigrateSetSpeed,
} from './migration';

const VM = '0b5d9a4e-3f7e-4c5b-9f0e-1a2b3c4d5e6f';
const DOM = `mc-${VM}`;
const V = ['virsh', '-c', 'qemu:///system'];
const MiB = 2 ** 20;

describe('virsh migrate argv', () => {
  it('plain pre-copy over shared storage: live, peer-to-peer, the definition moves, --unsafe', () => {
    expect(virshMigrate(VM, { targetAddress: '10.254.7.12', live: true, storage: 'shared', strategy: 'precopy' })).toEqual([
      ...V, 'migrate', '--live', '--p2p', '--persistent', '--undefinesource', '--verbose', '--unsafe', DOM, 'qemu+ssh://10.254.7.12/system',
    ]);
  });

  it('xbzrle with a copied disk, a bandwidth cap and a suspend timeout', () => {
    expect(
      virshMigrate(VM, {
        targetAddress: 'h2.lab', live: true, storage: 'copy', strategy: 'compressed',
        bandwidthMiBs: 20, timeoutSec: 120, xbzrleCacheBytes: 256 * MiB,
      }),
    ).toEqual([
      ...V, 'migrate', '--live', '--p2p', '--persistent', '--undefinesource', '--verbose', '--copy-storage-all',
      '--compressed', '--comp-methods', 'xbzrle', '--comp-xbzrle-cache', '268435456',
      '--bandwidth', '20', '--timeout', '120', '--timeout-suspend', DOM, 'qemu+ssh://h2.lab/system',
    ]);
  });

  it('a copied disk whose backing image the target already has: only the top layer moves', () => {
    const argv = virshMigrate(VM, { targetAddress: '10.254.7.12', live: true, storage: 'copy', strategy: 'precopy', incremental: true });
    expect(argv).toContain('--copy-storage-inc');
    expect(argv).not.toContain('--copy-storage-all');
  });

  it('auto-converge and post-copy flags', () => {
    const base = (o: Pick<LiveMigrateOptions, 'strategy'> & Partial<LiveMigrateOptions>): LiveMigrateOptions => ({ targetAddress: 'h2', live: true, storage: 'shared', ...o });
    expect(virshMigrate(VM, base({ strategy: 'auto-converge' }))).toContain('--auto-converge');
    expect(virshMigrate(VM, base({ strategy: 'auto-converge' }))).not.toContain('--compressed');
    const post = virshMigrate(VM, base({ strategy: 'postcopy', timeoutSec: 60, timeoutAction: 'postcopy' }));
    expect(post).toEqual(expect.arrayContaining(['--postcopy', '--postcopy-after-precopy', '--timeout', '60', '--timeout-postcopy']));
    expect(virshMigrate(VM, base({ strategy: 'postcopy', postcopySwitch: 'manual' }))).not.toContain('--postcopy-after-precopy');
    expect(() => virshMigrate(VM, base({ strategy: 'precopy', timeoutSec: 60, timeoutAction: 'postcopy' }))).toThrow(/postcopy strategy/);
    expect(() => virshMigrate(VM, base({ strategy: 'precopy', xbzrleCacheBytes: 64 * MiB }))).toThrow(/compressed/);
    // post-copy kept available to force completion of another strategy
    const forceable = virshMigrate(VM, base({ strategy: 'auto-converge', allowPostcopy: true }));
    expect(forceable).toEqual(expect.arrayContaining(['--auto-converge', '--postcopy']));
    expect(forceable).not.toContain('--postcopy-after-precopy');
    expect(virshMigrate(VM, base({ strategy: 'postcopy', allowPostcopy: true })).filter((a) => a === '--postcopy')).toHaveLength(1);
  });

  it('cold migration of a stopped VM moves only the definition', () => {
    expect(virshMigrate(VM, { targetAddress: '10.254.7.12', live: false })).toEqual([
      ...V, 'migrate', '--offline', '--persistent', '--undefinesource', DOM, 'qemu+ssh://10.254.7.12/system',
    ]);
    // the disk of a cold migration is copied beforehand by the caller: the argv is the same
    expect(virshMigrate(VM, { targetAddress: '10.254.7.12', live: false, storage: 'copy', strategy: 'precopy' })).toEqual(virshMigrate(VM, { targetAddress: '10.254.7.12', live: false }));
    expect(() => virshMigrate(VM, { targetAddress: 'h2', live: false, strategy: 'compressed' as never })).toThrow(/offline/);
  });

  it('builds the target URI from a validated address, user and port (IPv6 in brackets)', () => {
    expect(migrationTargetUri({ targetAddress: 'fd00::7', targetSshUser: 'root', targetSshPort: 2222 })).toBe('qemu+ssh://root@[fd00::7]:2222/system');
    for (const bad of ['', 'h2;reboot', 'h2/system?socket=/x', '$(id)', 'a b', '-oProxyCommand=x']) {
      expect(() => virshMigrate(VM, { targetAddress: bad, live: true, storage: 'shared', strategy: 'precopy' })).toThrow(/target address/);
    }
    expect(() => migrationTargetUri({ targetAddress: 'h2', targetSshUser: 'root@evil' })).toThrow(/ssh user/);
    expect(() => migrationTargetUri({ targetAddress: 'h2', targetSshPort: 0 })).toThrow(/ssh port/);
  });

  it('rejects ids that are not UUIDs and numbers that are not whole or in range', () => {
    const ok = { targetAddress: 'h2', live: true as const, storage: 'shared' as const, strategy: 'precopy' as const };
    expect(() => virshMigrate('../x', ok)).toThrow(/UUID/);
    expect(() => virshMigrate(VM, { ...ok, bandwidthMiBs: 0 })).toThrow(/bandwidth/);
    expect(() => virshMigrate(VM, { ...ok, bandwidthMiBs: 2.5 })).toThrow(/bandwidth/);
    expect(() => virshMigrate(VM, { ...ok, timeoutSec: -1 })).toThrow(/timeout/);
    expect(() => virshMigrate(VM, { ...ok, maxDowntimeMs: Number.NaN })).toThrow(/downtime/);
    expect(() => virshMigrate(VM, { ...ok, strategy: 'turbo' as never })).toThrow(/strategy/);
    expect(() => virshMigrate(VM, { ...ok, storage: 'nfs' as never })).toThrow(/storage/);
  });

  it('sets the downtime limit before the migration (virsh migrate has no flag for it)', () => {
    const { before, migrate } = migrationCommands(VM, { targetAddress: 'h2', live: true, storage: 'shared', strategy: 'compressed', maxDowntimeMs: 300 });
    expect(before).toEqual([[...V, 'migrate-setmaxdowntime', DOM, '300']]);
    expect(migrate).not.toContain('300');
    expect(migrationCommands(VM, { targetAddress: 'h2', live: false }).before).toEqual([]);
  });
});

describe('job control argv', () => {
  it('builds each command against mc-<uuid>', () => {
    expect(virshDomjobinfo(VM)).toEqual([...V, 'domjobinfo', DOM]);
    expect(virshDomjobinfo(VM, { completed: true })).toEqual([...V, 'domjobinfo', DOM, '--completed']);
    expect(virshDomjobinfo(VM, { completed: true, keep: true })).toEqual([...V, 'domjobinfo', DOM, '--completed', '--keep-completed']);
    expect(virshDomjobabort(VM)).toEqual([...V, 'domjobabort', DOM]);
    expect(virshMigrateSetMaxDowntime(VM, 300)).toEqual([...V, 'migrate-setmaxdowntime', DOM, '300']);
    expect(virshMigrateSetSpeed(VM, 20)).toEqual([...V, 'migrate-setspeed', DOM, '20']);
    expect(virshMigratePostcopy(VM)).toEqual([...V, 'migrate-postcopy', DOM]);
    expect(virshDomdirtyrateCalc(VM, 2)).toEqual([...V, 'domdirtyrate-calc', DOM, '--seconds', '2']);
    expect(virshDomstatsDirtyrate(VM)).toEqual([...V, 'domstats', '--dirtyrate', DOM]);
  });

  it('validates the numbers', () => {
    expect(() => virshDomdirtyrateCalc(VM, 61)).toThrow(/1\.\.60/);
    expect(() => virshDomdirtyrateCalc(VM, 0)).toThrow();
    expect(() => virshMigrateSetSpeed(VM, -1)).toThrow(/bandwidth/);
    expect(() => virshMigrateSetMaxDowntime(VM, 0)).toThrow(/downtime/);
    expect(() => virshDomjobinfo(VM, { keep: true })).toThrow(/completed/);
  });
});

/*
 * The outputs below are laid out exactly as virsh 9.0 prints them (cmdDomjobinfo's printf formats: "%-17s %-12s",
 * "%-17s %-12llu ms", "%-17s %-.3lf %s", "%-17s %-13llu", "%-17s %-13d"; trailing spaces included).
 */

/** A compressed (xbzrle) migration of a 256 MiB "word-writer" guest in its second round, 20 MiB/s cap. */
const RUNNING_XBZRLE = [
  'Job type:         Unbounded   ',
  'Operation:        Outgoing migration',
  'Time elapsed:     15873        ms',
  'Data processed:   262.742 MiB',
  'Data remaining:   62.117 MiB',
  'Data total:       264.454 MiB',
  'Memory processed: 262.742 MiB',
  'Memory remaining: 62.117 MiB',
  'Memory total:     264.454 MiB',
  'Memory bandwidth: 20.004 MiB/s',
  'Dirty rate:       30720        pages/s',
  'Page size:        4096         bytes',
  'Iteration:        2           ',
  'Postcopy requests: 0           ',
  'Constant pages:   1870        ',
  'Normal pages:     65262       ',
  'Normal data:      254.930 MiB',
  'Expected downtime: 300          ms',
  'Setup time:       14           ms',
  'Compression cache: 256.000 MiB',
  'Compressed data:  5.812 MiB',
  'Compressed pages: 49641        ',
  'Compression cache misses: 0            ',
  'Compression overflows: 3            ',
  '',
].join('\n');

/** `domjobinfo --completed` after an auto-converge migration of a "random-writer" guest. */
const COMPLETED_AUTO_CONVERGE = [
  'Job type:         Completed   ',
  'Operation:        Outgoing migration',
  'Time elapsed:     86212        ms',
  'Time elapsed w/o network: 86209        ms',
  'Data processed:   1.781 GiB',
  'Data remaining:   0.000 B',
  'Data total:       264.454 MiB',
  'Memory processed: 1.781 GiB',
  'Memory remaining: 0.000 B',
  'Memory total:     264.454 MiB',
  'Memory bandwidth: 20.011 MiB/s',
  'Dirty rate:       1187         pages/s',
  'Page size:        4096         bytes',
  'Iteration:        11          ',
  'Postcopy requests: 0           ',
  'Constant pages:   2094        ',
  'Normal pages:     466511      ',
  'Normal data:      1.780 GiB',
  'Total downtime:   171          ms',
  'Downtime w/o network: 168          ms',
  'Setup time:       12           ms',
  'Auto converge throttle: 90           ',
  '',
].join('\n');

describe('parseDomjobinfo', () => {
  it('reads an in-progress xbzrle migration with units converted', () => {
    const j = parseDomjobinfo(RUNNING_XBZRLE);
    expect(j).toEqual({
      jobType: 'Unbounded',
      operation: 'Outgoing migration',
      timeElapsedMs: 15873,
      dataProcessedBytes: Math.round(262.742 * MiB),
      dataRemainingBytes: Math.round(62.117 * MiB),
      dataTotalBytes: Math.round(264.454 * MiB),
      memoryProcessedBytes: Math.round(262.742 * MiB),
      memoryRemainingBytes: Math.round(62.117 * MiB),
      memoryTotalBytes: Math.round(264.454 * MiB),
      memoryBandwidthBytesPerSec: Math.round(20.004 * MiB),
      dirtyRatePagesPerSec: 30720,
      pageSizeBytes: 4096,
      iteration: 2,
      postcopyRequests: 0,
      constantPages: 1870,
      normalPages: 65262,
      normalBytes: Math.round(254.93 * MiB),
      expectedDowntimeMs: 300,
      setupTimeMs: 14,
      compressionCacheBytes: 256 * MiB,
      compressedBytes: Math.round(5.812 * MiB),
      compressedPages: 49641,
      compressionCacheMisses: 0,
      compressionOverflows: 3,
    });
    // what the cost model reads from it: ~3 % of each dirty page goes on the wire
    expect(j.compressedBytes! / (j.compressedPages! * j.pageSizeBytes!)).toBeCloseTo(0.03, 2);
    // not printed while running: undefined, never 0
    expect(j.totalDowntimeMs).toBeUndefined();
    expect(j.autoConvergeThrottlePercent).toBeUndefined();
  });

  it('reads a completed job: total downtime, throttle, GiB and "0.000 B" (a real zero)', () => {
    const j = parseDomjobinfo(COMPLETED_AUTO_CONVERGE);
    expect(j).toMatchObject({
      jobType: 'Completed',
      timeElapsedMs: 86212,
      timeElapsedNetMs: 86209,
      memoryProcessedBytes: Math.round(1.781 * 2 ** 30),
      memoryRemainingBytes: 0,
      dataRemainingBytes: 0,
      iteration: 11,
      totalDowntimeMs: 171,
      downtimeNetMs: 168,
      autoConvergeThrottlePercent: 90,
    });
    expect(j.expectedDowntimeMs).toBeUndefined();
    expect(j.compressedBytes).toBeUndefined();
    expect(j.compressionOverflows).toBeUndefined();
  });

  it('no job, a failed job with its error, the "20 %" form of the throttle', () => {
    expect(parseDomjobinfo('Job type:         None        \n\n')).toEqual({ jobType: 'None' });
    const failed = parseDomjobinfo(
      'Job type:         Failed      \nOperation:        Outgoing migration\nTime elapsed:     5012         ms\n' +
        'Error message:    operation failed: migration out job: unexpectedly failed\n',
    );
    expect(failed).toEqual({ jobType: 'Failed', operation: 'Outgoing migration', timeElapsedMs: 5012, errorMessage: 'operation failed: migration out job: unexpectedly failed' });
    expect(parseDomjobinfo('Job type: Unbounded\nAuto converge throttle: 20 %\n').autoConvergeThrottlePercent).toBe(20);
  });

  it('refuses what it cannot read instead of guessing', () => {
    expect(() => parseDomjobinfo('')).toThrow(ParseError);
    expect(() => parseDomjobinfo('error: failed to get domain')).toThrow(/Job type/);
    expect(() => parseDomjobinfo('Job type: Paused\n')).toThrow(/job type/);
    expect(() => parseDomjobinfo('Job type: Unbounded\nMemory processed: lots\n')).toThrow(/Memory processed/);
    expect(() => parseDomjobinfo('Job type: Unbounded\nTime elapsed: 12 s\n')).toThrow(/Time elapsed/);
    expect(() => parseDomjobinfo('Job type: Unbounded\nMemory processed: 1.000 XB\n')).toThrow(ParseError);
  });
});

describe('parseDirtyRate', () => {
  it('reads a measured rate', () => {
    const out = [
      `Domain: '${DOM}'`,
      '  dirtyrate.calc_status=2',
      '  dirtyrate.calc_start_time=1715238',
      '  dirtyrate.calc_period=2',
      '  dirtyrate.megabytes_per_second=118',
      '  dirtyrate.calc_mode=page-sampling',
      '',
    ].join('\n');
    expect(parseDirtyRate(out)).toEqual({ status: 'measured', megabytesPerSecond: 118, calcPeriodSec: 2, calcMode: 'page-sampling' });
  });

  it('a measurement still running has no rate; a zero rate is 0', () => {
    expect(parseDirtyRate(`Domain: '${DOM}'\n  dirtyrate.calc_status=1\n  dirtyrate.calc_start_time=1715238\n  dirtyrate.calc_period=2\n`)).toEqual({ status: 'measuring', calcPeriodSec: 2 });
    expect(parseDirtyRate(`Domain: '${DOM}'\n  dirtyrate.calc_status=2\n  dirtyrate.calc_period=1\n  dirtyrate.megabytes_per_second=0\n`).megabytesPerSecond).toBe(0);
  });

  it('refuses output without a status, an unknown status or a bad number', () => {
    expect(() => parseDirtyRate(`Domain: '${DOM}'\n\n`)).toThrow(/calc_status/);
    expect(() => parseDirtyRate('  dirtyrate.calc_status=7\n')).toThrow(/calc_status/);
    expect(() => parseDirtyRate('  dirtyrate.calc_status=2\n')).toThrow(/megabytes_per_second/);
    expect(() => parseDirtyRate('  dirtyrate.calc_status=2\n  dirtyrate.megabytes_per_second=-3\n')).toThrow(ParseError);
  });
});

describe('the job-completed event (figures of a post-copy migration)', () => {
  const fixture = (f: string) => readFileSync(join(__dirname, '__fixtures__', f), 'utf8');

  it('listens on the source with virsh event, its pid in the VM directory; stop kills only that listener', () => {
    const c = jobCompletedEventCommands(VM, 300);
    const pidFile = `/var/lib/minicloud/vms/${VM}/.job-completed-event.pid`;
    expect(c.watch.slice(0, 2)).toEqual(['sh', '-c']);
    // the script is a constant: the pid file and the virsh argv are positional arguments
    expect(c.watch[2]).not.toContain(VM);
    expect(c.watch.slice(3)).toEqual(['sh', pidFile, ...V, 'event', '--domain', DOM, '--event', 'job-completed', '--timeout', '300']);
    expect(c.stop.slice(0, 2)).toEqual(['sh', '-c']);
    expect(c.stop[2]).toContain('/proc/$c/cmdline');
    expect(c.stop.slice(3)).toEqual(['sh', pidFile]);
  });

  it('rejects a bad timeout or VM id', () => {
    expect(() => jobCompletedEventCommands(VM, 0)).toThrow(/timeout/);
    expect(() => jobCompletedEventCommands(VM, 1.5)).toThrow(/whole number/);
    expect(() => jobCompletedEventCommands('x; rm -rf /', 10)).toThrow();
  });

  it('parses what the lab printed after a post-copy migration (the destination said "Job type: None")', () => {
    expect(parseJobCompletedEvent(fixture('lab-h1.virsh-event-job-completed.postcopy.txt'))).toEqual({
      jobType: 'Completed',
      operation: 'Outgoing migration',
      timeElapsedMs: 10783,
      timeElapsedNetMs: 10781,
      totalDowntimeMs: 9,
      downtimeNetMs: 7,
      setupTimeMs: 3,
      dataTotalBytes: 268967936,
      dataProcessedBytes: 263267040,
      dataRemainingBytes: 0,
      memoryTotalBytes: 268967936,
      memoryProcessedBytes: 263267040,
      memoryRemainingBytes: 0,
      memoryBandwidthBytesPerSec: 27164154,
      constantPages: 30862,
      normalPages: 64081,
      normalBytes: 262475776,
      dirtyRatePagesPerSec: 0,
      iteration: 3,
      postcopyRequests: 12,
      pageSizeBytes: 4096,
      diskTotalBytes: 0,
      diskProcessedBytes: 0,
      diskRemainingBytes: 0,
    });
  });

  it('no event (timed out, or stopped): null; an unreadable figure: ParseError', () => {
    expect(parseJobCompletedEvent(fixture('lab-h2.virsh-event-job-completed.timeout.txt'))).toBeNull();
    expect(parseJobCompletedEvent('')).toBeNull();
    expect(() => parseJobCompletedEvent(`event 'job-completed' for domain '${DOM}':\n\ttime_elapsed: soon\n`)).toThrow(ParseError);
    // unknown parameters (newer libvirt) are skipped
    expect(parseJobCompletedEvent(`event 'job-completed' for domain '${DOM}':\n\tvfio_data_transferred: 5\n\tdowntime: 4\nevents received: 1\n`)).toEqual({ jobType: 'Completed', totalDowntimeMs: 4 });
  });
});
