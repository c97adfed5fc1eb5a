import { planStartClaim } from './start-claim';

const VM = 'vm-1';
const H1 = 'host-1';
const H2 = 'host-2';
const at = new Date('2026-11-28T00:00:00Z');

describe('planStartClaim', () => {
  it('confirms an active claim on the VM host', () => {
    expect(planStartClaim(VM, H1, { hostId: H1, releasedAt: null }, null)).toEqual({ kind: 'held' });
  });

  it('takes capacity again on the VM host after a preemption released the claim', () => {
    const p = planStartClaim(VM, H1, { hostId: H1, releasedAt: at, releaseReason: 'preempted by VM vm-9 (priority 1) on host h1' }, null);
    expect(p).toEqual({ kind: 'take', from: null, why: 'its capacity was given away (preempted by VM vm-9 (priority 1) on host h1)' });
  });

  it('moves a claim a preemption moved elsewhere back to the host the stopped VM is on', () => {
    expect(planStartClaim(VM, H1, { hostId: H2, releasedAt: null }, null)).toMatchObject({ kind: 'take', from: H2 });
  });

  it('refuses a deleted VM, a VM never placed and a migrating VM, saying why', () => {
    expect(planStartClaim(VM, H1, { hostId: H1, releasedAt: at, releaseReason: 'vm deleted' }, null)).toEqual({ kind: 'refuse', reason: 'VM vm-1 was deleted' });
    expect(planStartClaim(VM, H1, null, null)).toMatchObject({ kind: 'refuse', reason: expect.stringContaining('never placed') });
    expect(planStartClaim(VM, H1, { hostId: null, releasedAt: at, releaseReason: 'vm deleted' }, null)).toMatchObject({ kind: 'refuse', reason: expect.stringContaining('never placed') });
    expect(planStartClaim(VM, H1, { hostId: H1, releasedAt: null }, { migrationId: 'm-1' })).toMatchObject({ kind: 'refuse', reason: expect.stringContaining('migration m-1') });
  });
});
