import { host, ID, request } from './test-utils/hosts';
import { effectivePriority, expiresAt, mayPreempt, orderQueue } from './queue';
import { choosePreemption, PreemptibleVm } from './preemption';
import { guaranteedSlots, maxOverlap, placeReservation } from './reservations';
import { defaultFilters } from './filters';
import { Planner } from './planner';
import { policiesFromEnv } from './policies';

describe('queue: aging and order', () => {
  it('raises priority one level per aging step, never above 1', () => {
    expect(effectivePriority(4, 0, 59_999, 60_000)).toBe(4);
    expect(effectivePriority(4, 0, 60_000, 60_000)).toBe(3);
    expect(effectivePriority(4, 0, 10 * 60_000, 60_000)).toBe(1);
    expect(effectivePriority(3, 0, 10 * 60_000, 0)).toBe(3);
  });

  it('orders by aged priority, then arrival: an old low-priority request is not starved', () => {
    const now = 300_000;
    const q = orderQueue(
      [
        { vmId: 'new-p2', priority: 2, enqueuedAt: now - 1000 },
        { vmId: 'old-p4', priority: 4, enqueuedAt: 0 },
        { vmId: 'new-p1', priority: 1, enqueuedAt: now - 500 },
        { vmId: 'mid-p4', priority: 4, enqueuedAt: now - 61_000 },
      ],
      now,
      60_000,
    );
    expect(q.map((e) => [e.vmId, e.effectivePriority])).toEqual([
      ['old-p4', 1],
      ['new-p1', 1],
      ['new-p2', 2],
      ['mid-p4', 3],
    ]);
  });

  it('expires at the deadline, else after the max wait; only priority 1-2 may preempt', () => {
    expect(expiresAt(1000, 5000, 60_000)).toBe(5000);
    expect(expiresAt(1000, null, 60_000)).toBe(61_000);
    expect([1, 2, 3, 4, undefined].map(mayPreempt)).toEqual([true, true, false, false, false]);
  });
});

describe('preemption choice', () => {
  const vm = (id: string, hostId: string, priority: number, memoryMiB: number, createdAt: number): PreemptibleVm => ({ vmId: id, hostId, vcpus: 1, memoryMiB, diskGiB: 1, priority, createdAt });

  it('takes lowest priority first, newest first, only as many as needed, only below the request priority', () => {
    const h = host({ id: ID(1), totalMemoryMiB: 8192, allocatedMemoryMiB: 8192, preemptibleMemoryMiB: 8192, allocatedVcpus: 4, allocatedDiskGiB: 4, activeVms: 4 });
    const vms = [vm('p3-old', ID(1), 3, 2048, 1), vm('p4-old', ID(1), 4, 2048, 2), vm('p4-new', ID(1), 4, 2048, 3), vm('p2', ID(1), 2, 2048, 4)];
    const plan = choosePreemption([h], vms, request({ memoryMiB: 4096, priority: 1 }));
    expect(plan?.victims.map((v) => v.vmId)).toEqual(['p4-new', 'p4-old']);
    // A priority-2 request may not take the priority-2 VM, and 3 lower ones are not enough for 8 GiB.
    expect(choosePreemption([h], vms, request({ memoryMiB: 8192, priority: 2 }))).toBeNull();
  });

  it('prefers the host needing the fewest victims', () => {
    const a = host({ id: ID(1), totalMemoryMiB: 4096, allocatedMemoryMiB: 4096, preemptibleMemoryMiB: 4096 });
    const b = host({ id: ID(2), totalMemoryMiB: 4096, allocatedMemoryMiB: 4096, preemptibleMemoryMiB: 4096 });
    const vms = [vm('a1', ID(1), 4, 1024, 1), vm('a2', ID(1), 4, 1024, 2), vm('b1', ID(2), 4, 2048, 1)];
    expect(choosePreemption([a, b], vms, request({ memoryMiB: 2048, priority: 1 }))).toMatchObject({ host: { id: ID(2) }, victims: [{ vmId: 'b1' }] });
  });
});

describe('reservations', () => {
  const flavor = { vcpus: 1, memoryMiB: 1024, diskGiB: 1 };
  const hold = (start: number, end: number, memoryMiB: number) => ({ start, end, vcpus: 1, memoryMiB, diskGiB: 1 });

  it('maxOverlap: the most held at the same time, within a window', () => {
    const holds = [hold(0, 10, 1024), hold(5, 15, 2048), hold(20, 30, 4096)];
    expect(maxOverlap(holds).memoryMiB).toBe(4096);
    expect(maxOverlap(holds, 0, 20).memoryMiB).toBe(3072);
    expect(maxOverlap(holds, 10, 20).memoryMiB).toBe(2048);
    expect(maxOverlap([], 0, 10).memoryMiB).toBe(0);
  });

  it('guarantees only what non-preemptible VMs and overlapping reservations leave', () => {
    const h = host({ totalMemoryMiB: 8192, allocatedMemoryMiB: 4096, preemptibleMemoryMiB: 2048 });
    // 8192 - (4096 - 2048 preemptible) = 6144 → 6 slots; an overlapping 2 GiB hold leaves 4; a disjoint one does not count.
    expect(guaranteedSlots(h, [], flavor, 0, 100)).toBe(6);
    expect(guaranteedSlots(h, [hold(50, 150, 2048)], flavor, 0, 100)).toBe(4);
    expect(guaranteedSlots(h, [hold(100, 150, 2048)], flavor, 0, 100)).toBe(6);
  });

  it('places slots on the hosts with the most room first, or refuses when it cannot guarantee them all', () => {
    const hosts = [host({ id: ID(1), totalMemoryMiB: 2048 }), host({ id: ID(2), totalMemoryMiB: 4096 }), host({ id: ID(3), state: 'down', totalMemoryMiB: 65536 })];
    expect([...(placeReservation(hosts, new Map(), flavor, 5, 0, 100) ?? new Map())]).toEqual([
      [ID(2), 4],
      [ID(1), 1],
    ]);
    expect(placeReservation(hosts, new Map(), flavor, 7, 0, 100)).toBeNull();
  });
});

describe('Planner with policies', () => {
  it('uses the per-request policy override and says whether waiting can help', () => {
    const all = policiesFromEnv({});
    const planner = new Planner(defaultFilters(), all['round-robin'], Object.values(all));
    const hosts = [host({ id: ID(1), allocatedMemoryMiB: 6144, activeVms: 3 }), host({ id: ID(2) })];
    const plan = planner.plan(hosts, request({ memoryMiB: 1024, policy: 'pack' }));
    expect(plan.ok && plan.policy.name).toBe('pack');
    expect(plan.ok && plan.ranked[0].host.id).toBe(ID(1));
    const full = planner.plan([host({ allocatedMemoryMiB: 8192 })], request({ memoryMiB: 1024 }));
    expect(full).toMatchObject({ ok: false, couldFitLater: true });
    const tooBig = planner.plan([host()], request({ memoryMiB: 16384 }));
    expect(tooBig).toMatchObject({ ok: false, couldFitLater: false });
    const wrongArch = planner.plan([host({ arch: 'aarch64' })], request({ arch: 'x86_64' }));
    expect(wrongArch).toMatchObject({ ok: false, couldFitLater: false, removedByFilter: { arch: 1 } });
  });
});
