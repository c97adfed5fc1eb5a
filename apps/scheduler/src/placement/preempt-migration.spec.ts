import { preemptLateCommit, preemptMigrationFallback } from './preempt-migration';
import { DELETED_REASON } from './start-claim';

const hold = { migrationId: 'm-1', vmId: 'vm-1', sourceHostId: 'src', targetHostId: 'dst' };
const active = (hostId: string) => ({ hostId, releasedAt: null });

describe('preemptMigrationFallback', () => {
  it('stops the VM and says why when its claim still sits on the target', () => {
    const r = preemptMigrationFallback(hold, active('dst'), 'failed', 'host-b', 'unable to connect to the destination');
    expect(r).toEqual({ kind: 'stop', why: 'preempted VM could not be moved to host-b: migration m-1 failed (unable to connect to the destination); stopped instead' });
  });

  it('words a timeout as such', () => {
    const r = preemptMigrationFallback(hold, active('dst'), 'timed-out', 'host-b', null);
    expect(r).toEqual({ kind: 'stop', why: 'preempted VM could not be moved to host-b: migration m-1 timed out; stopped instead' });
  });

  it('does nothing when the claim was released meanwhile or sits elsewhere', () => {
    expect(preemptMigrationFallback(hold, null, 'failed', 'host-b', null)).toEqual({ kind: 'none' });
    expect(preemptMigrationFallback(hold, { hostId: 'dst', releasedAt: new Date() }, 'failed', 'host-b', null)).toEqual({ kind: 'none' });
    expect(preemptMigrationFallback(hold, active('src'), 'cancelled', 'host-b', null)).toEqual({ kind: 'none' });
  });
});

describe('preemptLateCommit', () => {
  it('takes the claim again when it was released by the fallback', () => {
    expect(preemptLateCommit(hold, { hostId: 'dst', releasedAt: new Date(), releaseReason: 'preempted VM could not be moved' })).toBe('reclaim');
  });

  it('leaves a deleted VM and an active claim alone', () => {
    expect(preemptLateCommit(hold, { hostId: 'dst', releasedAt: new Date(), releaseReason: DELETED_REASON })).toBe('none');
    expect(preemptLateCommit(hold, active('dst'))).toBe('none');
    expect(preemptLateCommit(hold, null)).toBe('none');
  });
});
