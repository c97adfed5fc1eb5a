import { batchable, ChangeFeed, planBatch, ShortLists, withClaim } from './batch-plan';
import { fits } from './capacity';
import { defaultFilters } from './filters';
import { Planner } from './planner';
import { leastLoadedPolicy, packPolicy, RoundRobinPolicy, spreadPolicy } from './policies';
import { host, ID, request } from './test-utils/hosts';
import { HostView, PlacementRequest } from './types';

const SIZES = [
  { vcpus: 1, memoryMiB: 1024, diskGiB: 10 },
  { vcpus: 2, memoryMiB: 2048, diskGiB: 20 },
  { vcpus: 4, memoryMiB: 4096, diskGiB: 40 },
  { vcpus: 8, memoryMiB: 8192, diskGiB: 80 },
];

/** A deterministic mixed fleet: varying fill, a few hosts down. */
function fleet(n: number): HostView[] {
  return Array.from({ length: n }, (_, i) =>
    host({
      id: ID(i + 1),
      name: `h${i + 1}`,
      totalVcpus: 8,
      totalMemoryMiB: 32768,
      totalDiskGiB: 400,
      allocatedVcpus: (i * 7) % 30,
      allocatedMemoryMiB: ((i * 5) % 28) * 1024,
      allocatedDiskGiB: (i * 13) % 300,
      activeVms: (i * 3) % 12,
      state: i % 17 === 5 ? 'down' : 'up',
    }),
  );
}

function requests(n: number): PlacementRequest[] {
  return Array.from({ length: n }, (_, i) => request({ vmId: `vm-${i}`, ...SIZES[(i * 7) % 4] }));
}

/** One-by-one reference: a full plan per request, each seeing the ones placed before it. */
function sequential(planner: Planner, hosts: HostView[], reqs: PlacementRequest[]): Map<string, string | null> {
  const view = hosts.slice();
  const out = new Map<string, string | null>();
  let cursor: string | null = null;
  for (const req of reqs) {
    const plan = planner.plan(view, req, cursor);
    if (!plan.ok) {
      out.set(req.vmId, null);
      continue;
    }
    const h = plan.ranked[0].host;
    out.set(req.vmId, h.id);
    cursor = plan.policy.nextCursor(h) ?? cursor;
    const i = view.findIndex((x) => x.id === h.id);
    view[i] = withClaim(view[i], req);
  }
  return out;
}

describe('planBatch', () => {
  // The tie rule picks at random: here never swapping, so both paths must agree exactly.
  const noTie = leastLoadedPolicy(undefined, 0.05, () => 0.9);
  for (const [name, policy] of [
    ['least-loaded', noTie],
    ['pack', packPolicy()],
    ['spread', spreadPolicy()],
    ['round-robin', new RoundRobinPolicy()],
  ] as const) {
    it(`chooses what one-by-one planning chooses (${name}, one size)`, () => {
      const planner = new Planner(defaultFilters(), policy);
      const hosts = fleet(300);
      const reqs = requests(60).map((r) => ({ ...r, ...SIZES[1] }));
      const batch = planBatch(planner, hosts, reqs, new Map());
      const ref = sequential(planner, hosts, reqs);
      for (const c of batch.choices) expect(c.host.id).toBe(ref.get(c.req.vmId));
      for (const r of batch.rest) expect(ref.get(r.vmId)).toBeNull();
      expect(batch.choices.length + batch.rest.length).toBe(reqs.length);
    });
  }

  it('never overcommits a host within the batch, whatever the mix', () => {
    for (const policy of [packPolicy(), leastLoadedPolicy(), spreadPolicy(), new RoundRobinPolicy()]) {
      const planner = new Planner(defaultFilters(), policy);
      const hosts = fleet(40);
      const reqs = requests(200);
      const { choices, rest } = planBatch(planner, hosts, reqs, new Map());
      expect(choices.length + rest.length).toBe(200);
      const after = new Map(hosts.map((h) => [h.id, h]));
      for (const c of choices) {
        const h = after.get(c.host.id)!;
        expect(fits(h, c.req)).toBe(true);
        expect(h.state).toBe('up');
        after.set(h.id, withClaim(h, c.req));
      }
    }
  });

  it('states the number of hosts that passed the filters in the reason, not the short list', () => {
    const planner = new Planner(defaultFilters(), packPolicy());
    const { choices } = planBatch(planner, fleet(100), requests(1), new Map());
    const passed = planner.passing(fleet(100), requests(1)[0]).length;
    expect(choices[0].reason).toContain(`of ${passed} hosts that passed all filters`);
  });

  it('leaves groups, explicit targets and excluded hosts to the one-by-one path, and what does not fit', () => {
    const planner = new Planner(defaultFilters(), packPolicy());
    const hosts = [host({ id: ID(1) })];
    const reqs = [
      request({ vmId: 'g', group: { name: 'web', policy: 'anti-affinity' } }),
      request({ vmId: 't', targetHostId: ID(1) }),
      request({ vmId: 'x', excludeHosts: [ID(2)] }),
      request({ vmId: 'big', memoryMiB: 1 << 20 }),
      request({ vmId: 'ok' }),
    ];
    expect(reqs.map(batchable)).toEqual([false, false, false, true, true]);
    const { choices, rest } = planBatch(planner, hosts, reqs, new Map());
    expect(choices.map((c) => c.req.vmId)).toEqual(['ok']);
    expect(rest.map((r) => r.vmId).sort()).toEqual(['big', 'g', 't', 'x']);
  });

  it('advances the round-robin cursor across the batch', () => {
    const planner = new Planner(defaultFilters(), new RoundRobinPolicy());
    const hosts = [1, 2, 3].map((n) => host({ id: ID(n), name: `h${n}` }));
    const cursors = new Map<string, string | null>([['round-robin', ID(2)]]);
    const { choices } = planBatch(planner, hosts, requests(4).map((r) => ({ ...r, ...SIZES[0] })), cursors);
    expect(choices.map((c) => c.host.id)).toEqual([ID(3), ID(1), ID(2), ID(3)]);
    expect(cursors.get('round-robin')).toBe(ID(3));
  });

  it('keeps short lists across batches and still chooses what one-by-one planning chooses', () => {
    // A view that changes between batches (as claims of other replicas arrive), with a change feed.
    const log: string[] = [];
    const feed: ChangeFeed = { version: () => log.length, changedSince: (v) => log.slice(v) };
    for (const policy of [leastLoadedPolicy(undefined, 0.05, () => 0.9), packPolicy()]) {
      const planner = new Planner(defaultFilters(), policy);
      let hosts = fleet(400);
      const lists = new ShortLists(feed, 40, 60_000);
      const all = requests(120).map((r) => ({ ...r, ...SIZES[1] }));
      for (let b = 0; b < 12; b++) {
        const reqs = all.slice(b * 10, b * 10 + 10);
        const ref = sequential(planner, hosts, reqs);
        const { choices, rest } = planBatch(planner, hosts, reqs, new Map(), lists);
        for (const c of choices) expect(c.host.id).toBe(ref.get(c.req.vmId));
        expect(rest).toEqual([]);
        // Commit the batch, and "another replica" fills one host outside any list.
        hosts = hosts.slice();
        for (const c of choices) {
          const i = hosts.findIndex((h) => h.id === c.host.id);
          hosts[i] = withClaim(hosts[i], c.req);
          log.push(c.host.id);
        }
        const j = (b * 37 + 11) % hosts.length;
        hosts[j] = { ...hosts[j], allocatedVcpus: 0, allocatedMemoryMiB: 0, allocatedDiskGiB: 0, activeVms: b % 2 };
        log.push(hosts[j].id);
      }
    }
  });
});
