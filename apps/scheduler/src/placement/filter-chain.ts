import { HostFilter } from './filters/host-filter';
import { HostView, PlacementRequest } from './types';

export interface FilterRemoval {
  filter: HostFilter;
  hosts: HostView[];
}

export interface FilterResult {
  passed: HostView[];
  /** Only filters that removed at least one host, in chain order. */
  removed: FilterRemoval[];
}

/** Runs the filters in order; each sees only the hosts the previous ones kept (Nova's filter scheduler). */
export function runFilters(hosts: HostView[], req: PlacementRequest, filters: HostFilter[]): FilterResult {
  let current = hosts;
  const removed: FilterRemoval[] = [];
  for (const f of filters) {
    const keep: HostView[] = [];
    const drop: HostView[] = [];
    for (const h of current) (f.passes(h, req) ? keep : drop).push(h);
    if (drop.length) removed.push({ filter: f, hosts: drop });
    current = keep;
  }
  return { passed: current, removed };
}

export interface NoValidHost {
  reason: string;
  removedByFilter: Record<string, number>;
}

/**
 * The sentence a person reads when nothing fits, e.g.
 * "no valid host among 2 hosts: 2 lacked memory (need 4096 MiB, best free 2048 MiB)".
 */
export function explainNoValidHost(totalHosts: number, result: FilterResult, req: PlacementRequest): NoValidHost {
  const removedByFilter: Record<string, number> = {};
  for (const r of result.removed) removedByFilter[r.filter.name] = (removedByFilter[r.filter.name] ?? 0) + r.hosts.length;
  if (totalHosts === 0) return { reason: 'no valid host: no hosts registered', removedByFilter };
  const parts = result.removed.map((r) => r.filter.describeRemoved(r.hosts, req));
  return {
    reason: `no valid host among ${totalHosts} ${totalHosts === 1 ? 'host' : 'hosts'}: ${parts.join('; ')}`,
    removedByFilter,
  };
}
