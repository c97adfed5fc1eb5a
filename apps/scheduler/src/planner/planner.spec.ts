import { defaultFilters, DEFAULT_LOAD_CAPS } from '../placement/filters';
import { Planner } from '../placement/planner';
import { leastLoadedPolicy } from '../placement/policies';
import { host as hostView, ID } from '../placement/test-utils/hosts';
import { HostView } from '../placement/types';
import { Cluster } from './cluster';
import { LoadModel } from './load-model';
import { OpenProposal, PlannerRound, RoundInput } from './planner-round';
import { CpuSource, Move, PlannerSettings, PlannerVm } from './types';
import { changedHotRounds } from './goals/hot-spot.goal';

const model = new LoadModel(DEFAULT_LOAD_CAPS, leastLoadedPolicy());
const placement = new Planner(defaultFilters(), leastLoadedPolicy());
const settings = (over: Partial<PlannerSettings> = {}): PlannerSettings => ({ balanceThreshold: 0.15, hotSpotRounds: 3, consolidation: false, ...over });

const A = ID(1);
const B = ID(2);
const C = ID(3);
const vmId = (n: number) => `00000000-0000-4000-9000-${String(n).padStart(12, '0')}`;

function host(id: string, name: string, memoryPercent: number, over: Partial<HostView> = {}): HostView {
  return hostView({ id, name, totalVcpus: 4, totalMemoryMiB: 8192, totalDiskGiB: 100, memoryPercent, cpuPercent: 0, metricsAt: Date.now(), ...over });
}

function vm(n: number, hostId: string, memoryMiB: number, cpuPercent: number | null, over: Partial<PlannerVm> = {}): PlannerVm {
  return { vmId: vmId(n), hostId, vcpus: 1, memoryMiB, diskGiB: 10, cpuPercent, ...over };
}

/** Hosts with their allocation and VM count taken from the VMs on them. */
function input(hosts: HostView[], vms: PlannerVm[], over: Partial<RoundInput> = {}): RoundInput {
  const withAlloc = hosts.map((h) => {
    const on = vms.filter((v) => v.hostId === h.id);
    return {
      ...h,
      allocatedVcpus: on.reduce((s, v) => s + v.vcpus, 0),
      allocatedMemoryMiB: on.reduce((s, v) => s + v.memoryMiB, 0),
      allocatedDiskGiB: on.reduce((s, v) => s + v.diskGiB, 0),
      activeVms: on.length,
    };
  });
  return { hosts: withAlloc, vms, holds: [], open: [], cooldown: new Set(), hotRounds: new Map(), consolidationBusy: false, ...over };
}

/** The cluster after the migrations completed, as the next round's metrics would show it. */
function afterMoves(i: RoundInput, moves: Move[]): RoundInput {
  const vms = i.vms.map((v) => {
    const m = moves.find((x) => x.vmId === v.vmId);
    return m ? { ...v, hostId: m.targetHostId } : v;
  });
  const hosts = i.hosts.map((h) => {
    let mem = h.memoryPercent ?? 0;
    for (const m of moves) {
      const v = i.vms.find((x) => x.vmId === m.vmId) as PlannerVm;
      if (m.sourceHostId === h.id) mem -= (v.memoryMiB * 100) / h.totalMemoryMiB;
      if (m.targetHostId === h.id) mem += (v.memoryMiB * 100) / h.totalMemoryMiB;
    }
    return { ...h, memoryPercent: mem };
  });
  return input(hosts, vms);
}

const round = (cpu: CpuSource = 'vms') => new PlannerRound(placement, model, cpu);

/** Host A is hot (3 busy VMs), B idle, C lightly used; CPU from vm.metrics (% of one vCPU). */
function imbalanced(over: Partial<RoundInput> = {}, vmOver: Record<number, Partial<PlannerVm>> = {}): RoundInput {
  return input(
    [host(A, 'host-a', 40), host(B, 'host-b', 20), host(C, 'host-c', 25)],
    [
      vm(1, A, 512, 100, vmOver[1]),
      vm(2, A, 1024, 150, vmOver[2]),
      vm(3, A, 2048, 50, vmOver[3]),
      vm(4, C, 512, 20, vmOver[4]),
    ],
    over,
  );
}

describe('the load model', () => {
  it('scores a host as the least-loaded policy does: 0.5·cpu + 0.3·memory + 0.2·min(vms/10, 1)', () => {
    expect(model.score(host(A, 'a', 40, { cpuPercent: 75, activeVms: 3 }))).toBeCloseTo(0.5 * 0.75 + 0.3 * 0.4 + 0.2 * 0.3, 9);
  });

  it('takes the CPU from the VMs (sum of % of one vCPU ÷ host CPUs) when the source is `vms`', () => {
    const c = Cluster.from(imbalanced(), model, 'vms');
    expect(c.host(A)?.cpuPercent).toBeCloseTo(75, 9); // (100 + 150 + 50) / 4
    expect(c.host(C)?.cpuPercent).toBeCloseTo(5, 9);
    const fromHost = Cluster.from(imbalanced(), model, 'host');
    expect(fromHost.host(A)?.cpuPercent).toBe(0); // host.metrics said 0
  });

  it('estimates a VM without vm.metrics by its vCPU share of the host CPU (host source)', () => {
    const i = input([host(A, 'a', 10, { cpuPercent: 80 }), host(B, 'b', 10)], [vm(1, A, 512, null, { vcpus: 1 }), vm(2, A, 512, null, { vcpus: 3 })]);
    const c = Cluster.from(i, model, 'host');
    expect(c.demandOf(vmId(1))).toBeCloseTo(80, 9); // 80 % × 4 CPUs × 1/4 vCPUs
    const p = c.predict(vmId(1), B);
    expect(p.source.view.cpuPercent).toBeCloseTo(60, 9);
    expect(p.target.view.cpuPercent).toBeCloseTo(20, 9);
  });
});

describe('balance', () => {
  it('moves the VM that best closes the gap to a host that passes the filters', () => {
    const r = round().run(imbalanced(), settings());
    expect(r.proposals).toHaveLength(1);
    const [m] = r.proposals;
    // vm 2 (150 % of a CPU) leaves host-a 0.310 and host-b 0.305: the smallest spread that does not overshoot.
    expect(m).toMatchObject({ kind: 'balance', vmId: vmId(2), sourceHostId: A, targetHostId: B });
    expect(m.gapBefore).toBeCloseTo(0.555 - 0.06, 6);
    expect(m.gapAfter).toBeCloseTo(0.31 - 0.305, 6);
    expect(m.reason).toMatch(/^balance: host-a scores 0\.555 .* > threshold 0\.15.*to host-b/);
  });

  it('never ping-pongs: once the move is done, planning again proposes nothing', () => {
    const first = imbalanced();
    const r1 = round().run(first, settings());
    expect(r1.proposals).toHaveLength(1);
    const r2 = round().run(afterMoves(first, r1.proposals), settings());
    expect(r2.proposals).toEqual([]);
  });

  it('does nothing while the gap is within the threshold', () => {
    // host-a 0.210, host-b 0.060: a gap of exactly 0.15.
    const i = input([host(A, 'host-a', 25), host(B, 'host-b', 20)], [vm(1, A, 512, 20), vm(3, A, 512, 20), vm(5, A, 512, 20)]);
    expect(round().run(i, settings()).proposals).toEqual([]);
    expect(round().run(i, settings({ balanceThreshold: 0.05 })).proposals).toEqual([expect.objectContaining({ vmId: vmId(1), targetHostId: B })]);
  });

  it('never moves a VM whose move would leave the target more loaded than the source (hysteresis)', () => {
    // One busy VM on host-a: moving it only swaps the roles.
    const i = input([host(A, 'host-a', 30), host(B, 'host-b', 30)], [vm(1, A, 512, 300)]);
    expect(round().run(i, settings()).proposals).toEqual([]);
  });

  it('never proposes a VM in its cooldown, or one already migrating', () => {
    const cool = round().run(imbalanced({ cooldown: new Set([vmId(2)]) }), settings());
    expect(cool.proposals.map((p) => p.vmId)).not.toContain(vmId(2));
    expect(cool.proposals[0]).toMatchObject({ vmId: vmId(1), targetHostId: B });
    const all = round().run(imbalanced({ cooldown: new Set([vmId(1), vmId(2), vmId(3)]) }), settings());
    expect(all.proposals).toEqual([]);
    const migrating = round().run(imbalanced({ holds: [{ vmId: vmId(2), sourceHostId: A, targetHostId: B }] }), settings());
    expect(migrating.proposals.map((p) => p.vmId)).not.toContain(vmId(2));
    // A preempted VM being moved: its claim already points at the target (host-a here), the hold names it.
    const preempted = round().run(imbalanced({ holds: [{ vmId: vmId(2), sourceHostId: B, targetHostId: A }] }), settings());
    expect(preempted.proposals.map((p) => p.vmId)).not.toContain(vmId(2));
    expect(preempted.proposals.length).toBeGreaterThan(0);
  });

  it('respects anti-affinity: a VM is not moved next to a member of its group', () => {
    const group = { name: 'web', policy: 'anti-affinity' as const };
    const i = imbalanced({}, { 2: { group }, 4: { group } });
    // host-c runs vm 4 of the group; host-b runs none: vm 2 may still go to host-b.
    expect(round().run(i, settings()).proposals[0]).toMatchObject({ vmId: vmId(2), targetHostId: B });
    // A member on host-b too: vm 2 can go nowhere, another VM is moved.
    const j = input([...i.hosts], [...i.vms, vm(5, B, 256, 0, { group })]);
    const r = round().run(j, settings());
    expect(r.proposals.length).toBeGreaterThan(0);
    expect(r.proposals.map((p) => p.vmId)).not.toContain(vmId(2));
  });

  it('leaves hosts that do not take VMs (draining, maintenance, down) out', () => {
    const i = imbalanced();
    i.hosts = i.hosts.map((h) => (h.id === B ? { ...h, maintenance: 'draining' as const } : h.id === C ? { ...h, state: 'down' as const } : h));
    expect(round().run(i, settings()).proposals).toEqual([]);
  });
});

describe('hot spots', () => {
  // host-a above the CPU cap (host.metrics), VMs without vm.metrics: shares by vCPU.
  const hot = (hotRounds: Map<string, number>) =>
    input(
      [host(A, 'host-a', 30, { cpuPercent: 90 }), host(B, 'host-b', 30, { cpuPercent: 10 })],
      [vm(1, A, 512, null), vm(2, A, 1024, null, { vcpus: 2 }), vm(3, A, 2048, null)],
      { hotRounds },
    );
  const noBalance = settings({ balanceThreshold: 1 });

  it('needs the host above a cap for M consecutive rounds', () => {
    let rounds = new Map<string, number>();
    for (let n = 1; n <= 2; n++) {
      const r = round('host').run(hot(rounds), noBalance);
      expect(r.hotRounds.get(A)).toBe(n);
      expect(r.proposals).toEqual([]);
      rounds = r.hotRounds;
    }
    const r3 = round('host').run(hot(rounds), noBalance);
    expect(r3.hotRounds.get(A)).toBe(3);
    // The smallest VM (22.5 % of the host) is enough to bring host-a under 80 %.
    expect(r3.proposals).toEqual([expect.objectContaining({ kind: 'hot-spot', vmId: vmId(1), sourceHostId: A, targetHostId: B })]);
    expect(r3.proposals[0].reason).toMatch(/^hot spot: host-a has been above the load caps for 3 rounds \(cpu 90 % > 80 %/);
  });

  it('starts counting again when the host is within the caps', () => {
    const i = hot(new Map([[A, 2]]));
    i.hosts = i.hosts.map((h) => (h.id === A ? { ...h, cpuPercent: 50 } : h));
    expect(round('host').run(i, noBalance).hotRounds.get(A)).toBe(0);
  });

  it('moves VMs until the predicted load is under the caps', () => {
    const i = hot(new Map([[A, 5]]));
    i.hosts = i.hosts.map((h) => (h.id === A ? { ...h, cpuPercent: 100 } : h));
    const r = round('host').run(i, noBalance);
    // 25 % per vCPU: one 1-vCPU VM leaves 75 % — enough.
    expect(r.proposals.map((p) => p.vmId)).toEqual([vmId(1)]);
    const j = hot(new Map([[A, 5]]));
    j.hosts = j.hosts.map((h) => (h.id === A ? { ...h, cpuPercent: 100, memoryPercent: 95 } : h));
    // Memory too: 95 % → needs ≥ 10 points = 820 MiB off; vm 1 alone (512 MiB) is not enough, vm 2 (1024 MiB) is.
    const r2 = round('host').run(j, noBalance);
    expect(r2.proposals.map((p) => p.vmId)).toEqual([vmId(2)]);
  });
});

describe('consolidation', () => {
  const cons = settings({ balanceThreshold: 1, consolidation: true });
  const cluster = (small: number) =>
    input(
      [host(A, 'host-a', 10, { cpuPercent: 5 }), host(B, 'host-b', 50, { cpuPercent: 30 }), host(C, 'host-c', 50, { cpuPercent: 30 })],
      [vm(1, A, small, 5), vm(2, A, small, 5), vm(3, B, 6144, 60), vm(4, C, 6144, 60)],
    );

  it('empties the least loaded host when all its VMs fit on the others', () => {
    const r = round('host').run(cluster(1024), cons);
    expect(r.proposals).toHaveLength(2);
    expect(r.proposals.every((p) => p.kind === 'consolidation' && p.sourceHostId === A)).toBe(true);
    // Best fit: the most loaded host that still takes each VM (host-c has room for both).
    expect(r.proposals.every((p) => p.targetHostId === B || p.targetHostId === C)).toBe(true);
  });

  it('proposes nothing when not everything fits', () => {
    expect(round('host').run(cluster(3072), cons).proposals).toEqual([]);
  });

  it('is opt-in, and waits while a consolidation is under way', () => {
    expect(round('host').run(cluster(1024), settings({ balanceThreshold: 1 })).proposals).toEqual([]);
    expect(round('host').run({ ...cluster(1024), consolidationBusy: true }, cons).proposals).toEqual([]);
  });
});

describe('open proposals', () => {
  const proposal = (over: Partial<OpenProposal>): OpenProposal => ({
    id: 'p1',
    kind: 'balance',
    vmId: vmId(2),
    sourceHostId: A,
    targetHostId: B,
    reason: 'x',
    gapBefore: 0.5,
    gapAfter: 0,
    ...over,
  });

  it('keeps a valid one, counts it as done and proposes nothing more for its VM', () => {
    const r = round().run(imbalanced({ open: [proposal({})] }), settings());
    expect(r.keep).toEqual(['p1']);
    expect(r.expire).toEqual([]);
    expect(r.proposals).toEqual([]);
  });

  it('expires one whose VM moved or went, or whose hosts are balanced now', () => {
    const moved = round().run(imbalanced({ open: [proposal({ vmId: vmId(4) })] }), settings());
    expect(moved.expire).toEqual([{ id: 'p1', why: expect.stringMatching(/no longer on the source host/) }]);
    const gone = round().run(imbalanced({ open: [proposal({ vmId: vmId(99) })] }), settings());
    expect(gone.expire[0].why).toMatch(/no longer placed/);
    const calm = input([host(A, 'host-a', 25), host(B, 'host-b', 20)], [vm(2, A, 512, 80)], { open: [proposal({})] });
    expect(round().run(calm, settings()).expire[0].why).toMatch(/balanced now/);
  });
});

describe('changedHotRounds', () => {
  it('keeps only the counters a round moved, a missing stored counter being 0', () => {
    const stored = new Map([['a', 2], ['b', 0], ['c', 1]]);
    const next = new Map([['a', 3], ['b', 0], ['c', 1], ['d', 0], ['e', 1]]);
    expect([...changedHotRounds(stored, next)]).toEqual([['a', 3], ['e', 1]]);
  });

  it('writes back a counter that fell to 0', () => {
    expect([...changedHotRounds(new Map([['a', 4]]), new Map([['a', 0]]))]).toEqual([['a', 0]]);
  });
});
