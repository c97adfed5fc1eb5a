import { acceptNote, noteAfterState, preemptedNote, queuedNote, visibleNote } from './scheduling-projection';

const queued = queuedNote({ occurredAt: '2026-11-28T00:00:00.000Z', reason: 'no valid host among 2 hosts: 2 lacked memory', removedByFilter: { memory: 2 }, priority: 3, deadline: '2026-11-28T01:00:00.000Z' });
const preempted = preemptedNote({ occurredAt: '2026-11-28T00:05:00.000Z', hostId: 'h1', action: 'stop', preemptedByVmId: 'vm-9', reason: 'preempted by VM vm-9 (priority 1) on host h1' });

describe('scheduling notes in the read model', () => {
  it('builds the notes from the events, absent fields as null', () => {
    expect(queued).toEqual({ state: 'queued', since: '2026-11-28T00:00:00.000Z', reason: 'no valid host among 2 hosts: 2 lacked memory', removedByFilter: { memory: 2 }, priority: 3, deadline: '2026-11-28T01:00:00.000Z' });
    expect(preempted).toMatchObject({ state: 'preempted', hostId: 'h1', action: 'stop', targetHostId: null, preemptedByVmId: 'vm-9', reservationId: null });
  });

  it('takes a queued note only while the VM is requested, a preemption only while it may run or is stopped', () => {
    expect(acceptNote('requested', queued)).toBe(queued);
    expect(acceptNote('scheduled', queued)).toBeNull(); // vm.queued arriving after vm.scheduled
    expect(acceptNote('running', preempted)).toBe(preempted);
    expect(acceptNote('stopped', preempted)).toBe(preempted);
    expect(acceptNote('deleting', preempted)).toBeNull();
  });

  it('a queued note ends when the VM is placed or fails', () => {
    expect(noteAfterState('requested', 'scheduled', queued)).toBeNull();
    expect(noteAfterState('requested', 'failed', queued)).toBeNull();
  });

  it('a preemption note survives the stop and ends when the VM runs again', () => {
    const stopped = noteAfterState('running', 'stopped', preempted);
    expect(stopped).toBe(preempted);
    expect(noteAfterState('stopped', 'running', stopped)).toBeNull();
    expect(noteAfterState('stopped', 'deleting', stopped)).toBeNull();
    expect(noteAfterState('stopped', 'migrating', stopped)).toBeNull();
  });

  it('shows queued only while requested and preempted only while stopped', () => {
    expect(visibleNote('requested', queued)).toBe(queued);
    expect(visibleNote('running', preempted)).toBeNull(); // the stop has not landed yet
    expect(visibleNote('stopped', preempted)).toBe(preempted);
    expect(visibleNote('stopped', null)).toBeNull();
  });
});

describe('a preempted VM being moved (action migrate)', () => {
  const moving = preemptedNote({ occurredAt: '2026-11-28T00:05:00.000Z', hostId: 'h1', action: 'migrate', targetHostId: 'h2', migrationId: 'mig-1', preemptedByVmId: 'vm-9', reason: 'preempted by VM vm-9 (priority 1) on host h1' });

  it('is shown while the VM runs and migrates, with the migration', () => {
    expect(moving).toMatchObject({ state: 'preempted', action: 'migrate', targetHostId: 'h2', migrationId: 'mig-1' });
    expect(acceptNote('running', moving)).toBe(moving);
    expect(visibleNote('running', moving)).toBe(moving);
    const during = noteAfterState('running', 'migrating', moving);
    expect(visibleNote('migrating', during)).toBe(moving);
  });

  it('ends with the migration, whichever way it ends', () => {
    expect(noteAfterState('migrating', 'running', moving)).toBeNull();
    expect(noteAfterState('migrating', 'failed', moving)).toBeNull();
  });

  it('is not taken for a VM already stopped (the fallback stop comes as its own note)', () => {
    expect(acceptNote('stopped', moving)).toBeNull();
  });
});
