import { applyVmChange, isNotOlder, VmProjection } from './vm-projection';

const HOST_A = '11111111-1111-4111-8111-111111111111';
const HOST_B = '22222222-2222-4222-8222-222222222222';
const requested: VmProjection = { status: 'requested', generation: 0, hostId: null, reason: null };

describe('applyVmChange (the per-VM generation rule)', () => {
  it('moves a requested VM to scheduled on its host at generation 1', () => {
    expect(applyVmChange(requested, { kind: 'scheduled', hostId: HOST_A })).toEqual({ status: 'scheduled', generation: 1, hostId: HOST_A, reason: null });
  });

  it('records the scheduler failure reason at generation 1', () => {
    expect(applyVmChange(requested, { kind: 'schedule-failed', reason: 'no valid host among 2' })).toEqual({
      status: 'failed',
      generation: 1,
      hostId: null,
      reason: 'no valid host among 2',
    });
  });

  it('ignores a scheduler event once the provisioner has moved the VM on (late delivery)', () => {
    const running: VmProjection = { status: 'running', generation: 3, hostId: HOST_A, reason: null };
    expect(applyVmChange(running, { kind: 'scheduled', hostId: HOST_B })).toBeNull();
    expect(applyVmChange(running, { kind: 'schedule-failed', reason: 'x' })).toBeNull();
    const scheduled: VmProjection = { status: 'scheduled', generation: 1, hostId: HOST_A, reason: null };
    expect(applyVmChange(scheduled, { kind: 'scheduled', hostId: HOST_A })).toBeNull();
  });

  it('applies a state change only when its generation is higher', () => {
    const provisioning: VmProjection = { status: 'provisioning', generation: 2, hostId: HOST_A, reason: null };
    expect(applyVmChange(provisioning, { kind: 'state-changed', state: 'running', generation: 3 })).toEqual({
      status: 'running',
      generation: 3,
      hostId: HOST_A,
      reason: null,
    });
    expect(applyVmChange(provisioning, { kind: 'state-changed', state: 'running', generation: 2 })).toBeNull();
    const running: VmProjection = { status: 'running', generation: 3, hostId: HOST_A, reason: null };
    expect(applyVmChange(running, { kind: 'state-changed', state: 'provisioning', generation: 2 })).toBeNull();
  });

  it('accepts gaps in generations and takes the host from the event when it has one', () => {
    const scheduled: VmProjection = { status: 'scheduled', generation: 1, hostId: HOST_A, reason: null };
    expect(applyVmChange(scheduled, { kind: 'state-changed', state: 'running', generation: 5, hostId: HOST_B })).toMatchObject({
      status: 'running',
      generation: 5,
      hostId: HOST_B,
    });
  });

  it('keeps a reason only for failed, and supplies one if the publisher forgot', () => {
    const p: VmProjection = { status: 'provisioning', generation: 2, hostId: HOST_A, reason: null };
    expect(applyVmChange(p, { kind: 'state-changed', state: 'failed', generation: 3, reason: 'qemu-img: no space' })?.reason).toBe('qemu-img: no space');
    expect(applyVmChange(p, { kind: 'state-changed', state: 'failed', generation: 3 })?.reason).toMatch(/failed/);
    const failed: VmProjection = { status: 'failed', generation: 3, hostId: HOST_A, reason: 'boom' };
    expect(applyVmChange(failed, { kind: 'state-changed', state: 'running', generation: 4, reason: 'recovered' })?.reason).toBeNull();
  });

  it('clears the host when the VM goes back to requested (rescheduling)', () => {
    const p: VmProjection = { status: 'provisioning', generation: 2, hostId: HOST_A, reason: null };
    expect(applyVmChange(p, { kind: 'state-changed', state: 'requested', generation: 3 })?.hostId).toBeNull();
  });

  it('deletes a live VM whatever the generation, and nothing moves a deleted VM', () => {
    const running: VmProjection = { status: 'running', generation: 6, hostId: HOST_A, reason: null };
    expect(applyVmChange(running, { kind: 'deleted', generation: 7 })).toEqual({ status: 'deleted', generation: 7, hostId: HOST_A, reason: null });
    expect(applyVmChange(running, { kind: 'deleted', generation: 4 })?.generation).toBe(6);
    const deleted: VmProjection = { status: 'deleted', generation: 7, hostId: HOST_A, reason: null };
    expect(applyVmChange(deleted, { kind: 'state-changed', state: 'running', generation: 99 })).toBeNull();
    expect(applyVmChange(deleted, { kind: 'deleted', generation: 8 })).toBeNull();
    expect(applyVmChange(deleted, { kind: 'scheduled', hostId: HOST_A })).toBeNull();
  });
});

describe('isNotOlder (host state ordering)', () => {
  it('applies the first event, newer or equal ones, and drops older ones', () => {
    expect(isNotOlder(null, '2025-01-01T00:00:00.000Z')).toBe(true);
    const at = new Date('2025-01-01T00:00:10.000Z');
    expect(isNotOlder(at, '2025-01-01T00:00:11.000Z')).toBe(true);
    expect(isNotOlder(at, '2025-01-01T00:00:10.000Z')).toBe(true);
    expect(isNotOlder(at, '2025-01-01T00:00:09.999Z')).toBe(false);
  });
});
