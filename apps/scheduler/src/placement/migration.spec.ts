import { defaultFilters } from './filters';
import { explainTargetRefused, failedMigrationOutcome, migrationPlacementRequest, refuseMigration } from './migration';
import { Planner } from './planner';
import { RoundRobinPolicy } from './policies/round-robin.policy';
import { host, ID, request } from './test-utils/hosts';

const VM = '11111111-1111-4111-8111-111111111111';
const MIG = '22222222-2222-4222-8222-222222222222';
const claim = (over: Partial<Parameters<typeof refuseMigration>[1] & object> = {}) => ({
  vmId: VM,
  hostId: ID(1),
  vcpus: 2,
  memoryMiB: 2048,
  diskGiB: 10,
  releasedAt: null,
  ...over,
});
const ask = (over: Partial<Parameters<typeof refuseMigration>[0]> = {}) => ({ migrationId: MIG, vmId: VM, sourceHostId: ID(1), ...over });

describe('refuseMigration (checks before any target is looked for)', () => {
  it('refuses a VM without an active claim, answering with the requested source as its host', () => {
    expect(refuseMigration(ask(), null, null)).toEqual({ reason: `VM ${VM} is not placed (no active claim in the scheduler)`, vmHostId: ID(1) });
    expect(refuseMigration(ask(), claim({ releasedAt: new Date() }), null)?.reason).toMatch(/is not placed/);
  });

  it('refuses when the requested source is not where the scheduler placed the VM', () => {
    expect(refuseMigration(ask({ sourceHostId: ID(2) }), claim(), null)).toEqual({
      reason: `VM ${VM} runs on host ${ID(1)} according to the scheduler, not on the requested source ${ID(2)}`,
      vmHostId: ID(1),
    });
  });

  it('refuses a second migration while one is open, naming it', () => {
    const other = '33333333-3333-4333-8333-333333333333';
    expect(refuseMigration(ask(), claim(), { migrationId: other })).toEqual({ reason: `VM ${VM} is already migrating (migration ${other})`, vmHostId: ID(1) });
  });

  it('refuses the source as target, and accepts a valid request', () => {
    expect(refuseMigration(ask({ targetHostId: ID(1) }), claim(), null)?.reason).toBe(`target host ${ID(1)} is the VM's source host`);
    expect(refuseMigration(ask({ targetHostId: ID(2) }), claim(), null)).toBeNull();
    expect(refuseMigration(ask(), claim(), null)).toBeNull();
  });
});

describe('migrationPlacementRequest', () => {
  it("keeps the VM's constraints, takes size and preemptibility from the claim, the target from the request, and excludes the source", () => {
    const base = request({ vmId: VM, vcpus: 1, memoryMiB: 64, arch: 'x86_64', targetHostId: ID(9), group: { name: 'g', policy: 'anti-affinity' }, policy: 'spread', priority: 2 });
    const req = migrationPlacementRequest(base, claim({ preemptible: true }), ask({ targetHostId: ID(3) }));
    expect(req).toMatchObject({ vmId: VM, vcpus: 2, memoryMiB: 2048, diskGiB: 10, preemptible: true, arch: 'x86_64', group: { name: 'g', policy: 'anti-affinity' }, policy: 'spread', priority: 2, targetHostId: ID(3), excludeHosts: [ID(1)] });
    // Without a target in the request, the VM's original target does not pin the migration.
    expect(migrationPlacementRequest(base, claim(), ask()).targetHostId).toBeUndefined();
  });

  it('works for a claim without a stored request', () => {
    expect(migrationPlacementRequest(null, claim({ priority: 3 }), ask())).toMatchObject({ vmId: VM, vcpus: 2, memoryMiB: 2048, diskGiB: 10, preemptible: false, priority: 3, excludeHosts: [ID(1)] });
  });
});

describe('explainTargetRefused (a named target that a filter removes)', () => {
  const filters = defaultFilters();
  const req = (over = {}) => request({ memoryMiB: 4096, targetHostId: ID(3), excludeHosts: [ID(1)], ...over });

  it('names the resource the target lacks, with the need and what is free', () => {
    const t = host({ id: ID(3), name: 'host-3', allocatedMemoryMiB: 6144 });
    expect(explainTargetRefused(filters, t, req())).toBe(`target host-3 (${ID(3)}) lacked memory (need 4096 MiB, free 2048 MiB)`);
  });

  it('names a target that is not up, or runs a member of the anti-affinity group', () => {
    expect(explainTargetRefused(filters, host({ id: ID(3), name: 'host-3', state: 'maintenance' }), req())).toBe(`target host-3 (${ID(3)}) is maintenance, not up`);
    const grouped = req({ group: { name: 'web', policy: 'anti-affinity' }, groupHosts: new Set([ID(3)]) });
    expect(explainTargetRefused(filters, host({ id: ID(3), name: 'host-3' }), grouped)).toBe(`target host-3 (${ID(3)}) already runs a member of group web (anti-affinity)`);
  });

  it('says so for an unknown target', () => {
    expect(explainTargetRefused(filters, undefined, req())).toBe(`target host ${ID(3)} is not registered with the scheduler`);
  });

  it('agrees with the planner: a target the planner accepts is not explained as refused by a filter', () => {
    const t = host({ id: ID(3), name: 'host-3' });
    const planner = new Planner(filters, new RoundRobinPolicy());
    expect(planner.plan([host({ id: ID(2) }), t], req()).ok).toBe(true);
    expect(explainTargetRefused(filters, t, req())).toBe(`target host-3 (${ID(3)}) filled up meanwhile`);
  });
});

describe('failedMigrationOutcome', () => {
  it('is completed when the VM ended up on the target, else cancelled or failed', () => {
    expect(failedMigrationOutcome({ vmHostId: ID(2) }, { targetHostId: ID(2) })).toBe('completed');
    expect(failedMigrationOutcome({ vmHostId: ID(1), cancelled: true }, { targetHostId: ID(2) })).toBe('cancelled');
    expect(failedMigrationOutcome({ vmHostId: ID(1) }, { targetHostId: ID(2) })).toBe('failed');
  });
});
