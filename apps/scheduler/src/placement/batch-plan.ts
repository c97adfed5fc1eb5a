import { Planner } from './planner';
import { RoundRobinPolicy } from './policies/round-robin.policy';
import { HostView, PlacementRequest } from './types';

/** One request of a batch and the host it should go to (claimed later, all in one statement). */
export interface BatchChoice {
  req: PlacementRequest;
  host: HostView;
  reason: string;
  policy: string;
}

export interface BatchPlan {
  choices: BatchChoice[];
  /** Requests the batch does not decide (nothing fits in the view, or not batchable): the one-by-one path does. */
  rest: PlacementRequest[];
}

/**
 * Requests the batch may decide: no server group (needs the group's lock and its members' hosts), no explicit
 * target and no excluded hosts. Everything else (and every request that does not fit) takes the one-by-one path.
 */
export function batchable(req: PlacementRequest): boolean {
  return !req.group && !req.targetHostId && !req.excludeHosts?.length;
}

/** Requests that see the same filters and the same scores: same policy, size, preemptibility, arch and storage. */
function shapeOf(req: PlacementRequest, policy: string): string {
  return `${policy}|${req.vcpus}|${req.memoryMiB}|${req.diskGiB}|${req.preemptible ? 1 : 0}|${req.arch ?? ''}|${req.storage ?? ''}`;
}

function sortedIndex(hosts: HostView[], id: string): number {
  let lo = 0;
  let hi = hosts.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = hosts[mid].id;
    if (v === id) return mid;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** The host as it will be once `req` is claimed on it (the batch's own tentative allocation). */
export function withClaim(h: HostView, req: PlacementRequest): HostView {
  const p = req.preemptible ? 1 : 0;
  return {
    ...h,
    allocatedVcpus: h.allocatedVcpus + req.vcpus,
    allocatedMemoryMiB: h.allocatedMemoryMiB + req.memoryMiB,
    allocatedDiskGiB: h.allocatedDiskGiB + req.diskGiB,
    preemptibleVcpus: (h.preemptibleVcpus ?? 0) + p * req.vcpus,
    preemptibleMemoryMiB: (h.preemptibleMemoryMiB ?? 0) + p * req.memoryMiB,
    preemptibleDiskGiB: (h.preemptibleDiskGiB ?? 0) + p * req.diskGiB,
    activeVms: (h.activeVms ?? 0) + 1,
  };
}

/** What changed in the host view (HostCache): ids put since a version; null when that is too far back. */
export interface ChangeFeed {
  version(): number;
  changedSince(version: number): string[] | null;
}

interface ShortList {
  ids: string[];
  /** Hosts passing the filters when it was made (for the reason). */
  passed: number;
  version: number;
  at: number;
  /** Hosts the batch that made it had tentatively changed (their real rows may rank otherwise). */
  tentative: string[];
}

/**
 * Per request shape, the best `size` hosts of a full pass, kept across batches. A later batch ranks the list
 * plus every host changed since (ChangeFeed) — the same choice as a full pass as long as fewer hosts changed than
 * `size − limit` (an unchanged host outside the list still ranks below every unchanged one in it); beyond
 * that, after `maxAgeMs` (load-cap and metrics-age filters change with time, not with writes), or for
 * round-robin (its list follows a moving cursor), the full pass is made again.
 */
export class ShortLists {
  private readonly lists = new Map<string, ShortList>();

  constructor(
    private readonly feed: ChangeFeed | null,
    readonly size = 512,
    private readonly maxAgeMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  candidates(key: string, planner: Planner, view: HostView[], rep: PlacementRequest, cursor: string | null, batchChanged: Set<string>): { ids: string[]; passed: number } {
    const policy = planner.policyFor(rep);
    const cur = this.lists.get(key);
    const reusable = this.feed && cur && !(policy instanceof RoundRobinPolicy) && this.now() - cur.at < this.maxAgeMs;
    if (reusable) {
      const log = this.feed!.changedSince(cur!.version);
      const changed = log && new Set([...log, ...cur!.tentative, ...batchChanged]);
      if (changed && changed.size <= this.size - planner.limit) {
        const ids = new Set(cur!.ids);
        for (const id of changed) ids.add(id);
        return { ids: [...ids], passed: cur!.passed };
      }
    }
    const version = this.feed?.version() ?? 0;
    const passed = planner.passing(view, rep);
    const ids = policy.rank(passed, rep, cursor, this.size).map((r) => r.host.id);
    this.lists.set(key, { ids, passed: passed.length, version, at: this.now(), tentative: [...batchChanged] });
    return { ids, passed: passed.length };
  }
}

/**
 * Decides a batch of requests against one view of the hosts, each request seeing the ones before it
 * (tentative allocations on a private copy of the view), with the same filters and policies as one-by-one
 * placement — but without a full pass over every host per request:
 *
 * requests of one shape (policy, size, …) share a short list (ShortLists): the best hosts of one full pass.
 * Each request filters and ranks only the short list plus the hosts changed since, with the hosts as the batch
 * has changed them. This is the same choice as a full pass: a host outside that set is unchanged, so it still
 * ranks below every unchanged host of the short list, of which at least `planner.limit` remain.
 *
 * `hosts` must be sorted by id (HostCache's view). `cursors` (per policy) are read and advanced.
 */
export function planBatch(
  planner: Planner,
  hosts: HostView[],
  reqs: PlacementRequest[],
  cursors: Map<string, string | null>,
  lists: ShortLists = new ShortLists(null, reqs.length + planner.limit),
): BatchPlan {
  const view = hosts.slice();
  const choices: BatchChoice[] = [];
  const rest: PlacementRequest[] = [];
  const shapes = new Map<string, PlacementRequest[]>();
  for (const req of reqs) {
    if (!batchable(req)) {
      rest.push(req);
      continue;
    }
    const key = shapeOf(req, planner.policyFor(req).name);
    const list = shapes.get(key);
    if (list) list.push(req);
    else shapes.set(key, [req]);
  }
  const changed = new Set<string>();
  for (const [key, group] of shapes) {
    const policy = planner.policyFor(group[0]);
    const short = lists.candidates(key, planner, view, group[0], cursors.get(policy.name) ?? null, changed);
    const at: number[] = [];
    for (const id of short.ids) {
      const i = sortedIndex(view, id);
      if (i >= 0) at.push(i);
    }
    // In id order, like the full view (a position in it): equal scores then resolve to the same host as a full pass would.
    at.sort((a, b) => a - b);
    for (const req of group) {
      const current = at.map((i) => view[i]);
      const ok = planner.passing(current, req);
      if (!ok.length) {
        rest.push(req);
        continue;
      }
      // The planner's limit, not 1: least-loaded's tie rule looks at the two best.
      const [best] = policy.rank(ok, req, cursors.get(policy.name) ?? null, planner.limit, short.passed);
      choices.push({ req, host: best.host, reason: best.reason, policy: policy.name });
      const next = policy.nextCursor(best.host);
      if (next !== null) cursors.set(policy.name, next);
      const i = sortedIndex(view, best.host.id);
      view[i] = withClaim(view[i], req);
      changed.add(best.host.id);
    }
  }
  return { choices, rest };
}
