import { defaultFilters } from './filters';
import { RoundRobinPolicy } from './policies/round-robin.policy';
import { Planner } from './planner';
import { host, ID, request } from './test-utils/hosts';

describe('Planner (default filters + round-robin)', () => {
  const planner = new Planner(defaultFilters(), new RoundRobinPolicy());

  it('says so when no host is registered', () => {
    expect(planner.plan([], request(), null)).toMatchObject({ ok: false, reason: 'no valid host: no hosts registered', removedByFilter: {} });
  });

  it('explains, per filter, why every host was removed', () => {
    const hosts = [host({ id: ID(1), allocatedMemoryMiB: 6144 }), host({ id: ID(2), allocatedMemoryMiB: 8192 })];
    expect(planner.plan(hosts, request({ memoryMiB: 4096 }), null)).toMatchObject({
      ok: false,
      reason: 'no valid host among 2 hosts: 2 lacked memory (need 4096 MiB, best free 2048 MiB)',
      removedByFilter: { memory: 2 },
    });
  });

  it('counts each host under the first filter that removed it', () => {
    const hosts = [
      host({ id: ID(1), state: 'down' }),
      host({ id: ID(2), totalVcpus: 1, cpuAllocationRatio: 1 }),
      host({ id: ID(3), totalDiskGiB: 5 }),
      host({ id: ID(4), state: 'maintenance', totalDiskGiB: 5 }),
    ];
    const plan = planner.plan(hosts, request({ vcpus: 2, diskGiB: 10 }), null);
    expect(plan).toMatchObject({
      ok: false,
      reason:
        'no valid host among 4 hosts: 2 were not up (1 down, 1 maintenance); ' +
        '1 lacked vCPUs (need 2 vCPU, best free 1 vCPU); 1 lacked disk (need 10 GiB, best free 5 GiB)',
      removedByFilter: { state: 2, vcpus: 1, disk: 1 },
    });
  });

  it('explains a target host that does not fit', () => {
    const hosts = [host({ id: ID(1) }), host({ id: ID(2), allocatedVcpus: 16 })];
    const plan = planner.plan(hosts, request({ targetHostId: ID(2) }), null);
    expect(plan).toMatchObject({ ok: false, removedByFilter: { target: 1, vcpus: 1 } });
    expect(!plan.ok && plan.reason).toBe(
      `no valid host among 2 hosts: 1 was not the requested host ${ID(2)}; 1 lacked vCPUs (need 1 vCPU, best free 0 vCPU)`,
    );
  });

  it('ranks only the hosts that fit, in round-robin order', () => {
    const hosts = [host({ id: ID(1) }), host({ id: ID(2), allocatedDiskGiB: 95 }), host({ id: ID(3) })];
    const plan = planner.plan(hosts, request({ diskGiB: 10 }), ID(1));
    expect(plan.ok && plan.ranked.map((r) => r.host.id)).toEqual([ID(3), ID(1)]);
  });
});
