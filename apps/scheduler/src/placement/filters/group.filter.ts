import { GroupPolicy } from '@minicloud/contracts';
import { HostView, PlacementRequest } from '../types';
import { HostFilter } from './host-filter';

/**
 * Server groups (Nova's ServerGroupAffinityFilter / ServerGroupAntiAffinityFilter): `groupHosts` holds the hosts
 * where the group's other members run. Affinity keeps only those hosts (any host for the first member);
 * anti-affinity removes them, so no two members ever share a host. A no-op for a VM without that group policy.
 */
export class GroupFilter implements HostFilter {
  readonly name: GroupPolicy;

  constructor(private readonly policy: GroupPolicy) {
    this.name = policy;
  }

  appliesTo(req: PlacementRequest): boolean {
    return !!req.group && req.group.policy === this.policy;
  }

  passes(host: HostView, req: PlacementRequest): boolean {
    if (!req.group || req.group.policy !== this.policy) return true;
    const members = req.groupHosts;
    if (this.policy === 'affinity') return !members || members.size === 0 || members.has(host.id);
    return !members || !members.has(host.id);
  }

  describeRemoved(removed: HostView[], req: PlacementRequest): string {
    const n = removed.length;
    if (this.policy === 'affinity') return `${n} ${n === 1 ? 'was' : 'were'} not the host of group ${req.group?.name} (affinity)`;
    return `${n} already ${n === 1 ? 'runs' : 'run'} a member of group ${req.group?.name} (anti-affinity)`;
  }
}
