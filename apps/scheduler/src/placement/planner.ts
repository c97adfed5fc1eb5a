import { fits, fitsEmpty } from './capacity';
import { CapacityFilter } from './filters/capacity.filter';
import { explainNoValidHost, NoValidHost, runFilters } from './filter-chain';
import { HostFilter } from './filters/host-filter';
import { PlacementPolicy, RankedHost } from './policies/placement-policy';
import { HostView, PlacementRequest } from './types';

export type Plan =
  | { ok: true; policy: PlacementPolicy; ranked: RankedHost[]; passed: number }
  | ({ ok: false; policy: PlacementPolicy; passed: 0; couldFitLater: boolean } & NoValidHost);

/** Filters that a host fails for good (waiting for capacity cannot change them). */
const STATIC_FILTERS = new Set(['target', 'retry', 'arch']);

/**
 * Filters, then orders the survivors by the request's policy (or the cluster default). Pure: the claim itself
 * happens in the database. Only the best `limit` hosts are ranked: the scheduler tries them in order.
 */
export class Planner {
  private readonly byName: Map<string, PlacementPolicy>;

  constructor(
    readonly filters: HostFilter[],
    readonly policy: PlacementPolicy,
    others: PlacementPolicy[] = [],
    readonly limit = 8,
  ) {
    this.byName = new Map([...others, policy].map((p) => [p.name, p]));
  }

  policyFor(req: PlacementRequest): PlacementPolicy {
    return (req.policy && this.byName.get(req.policy)) || this.policy;
  }

  /** Hosts passing every filter (one pass, no bookkeeping: the common case). */
  passing(hosts: HostView[], req: PlacementRequest): HostView[] {
    const out: HostView[] = [];
    // The three capacity filters are checked at once by `fits` (same arithmetic, one call).
    const capacity = this.filters.filter((f) => f instanceof CapacityFilter);
    const fs = this.filters.filter((f) => !(f instanceof CapacityFilter) && (!f.appliesTo || f.appliesTo(req)));
    const fast = capacity.length === 3;
    if (!fast) fs.push(...capacity);
    outer: for (const h of hosts) {
      for (let i = 0; i < fs.length; i++) if (!fs[i].passes(h, req)) continue outer;
      if (fast && !fits(h, req)) continue;
      out.push(h);
    }
    return out;
  }

  plan(hosts: HostView[], req: PlacementRequest, cursor: string | null = null): Plan {
    const policy = this.policyFor(req);
    const passed = this.passing(hosts, req);
    if (passed.length) return { ok: true, policy, ranked: policy.rank(passed, req, cursor, this.limit), passed: passed.length };
    // Nothing fits: run the chain again with bookkeeping to say why.
    const result = runFilters(hosts, req, this.filters);
    return { ok: false, policy, passed: 0, couldFitLater: this.couldFitLater(hosts, req), ...explainNoValidHost(hosts.length, result, req) };
  }

  /**
   * Whether waiting can help: some host passes the filters that never change for this request (target, arch,
   * failed attempts) and is big enough for the VM when empty. Hosts down now may come back, loads drop.
   */
  couldFitLater(hosts: HostView[], req: PlacementRequest): boolean {
    const statics = this.filters.filter((f) => STATIC_FILTERS.has(f.name));
    return hosts.some((h) => statics.every((f) => f.passes(h, req)) && fitsEmpty(h, req));
  }
}
