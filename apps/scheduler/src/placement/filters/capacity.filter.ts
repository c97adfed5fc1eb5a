import { freeOf, needOf } from '../capacity';
import { HostView, PlacementRequest, Resource, ResourceUnits } from '../types';
import { HostFilter } from './host-filter';

const label: Record<Resource, string> = { vcpus: 'vCPUs', memory: 'memory', disk: 'disk' };

/**
 * Removes hosts whose free capacity of one resource (total × the host's allocation ratio − allocated)
 * is below what the VM needs. A non-preemptible VM may not use capacity held for advance reservations. One instance per resource, so the explanation says which resource was short.
 */
export class CapacityFilter implements HostFilter {
  readonly name: Resource;

  constructor(private readonly resource: Resource) {
    this.name = resource;
  }

  passes(host: HostView, req: PlacementRequest): boolean {
    return freeOf(host, this.resource, req) >= needOf(req, this.resource);
  }

  describeRemoved(removed: HostView[], req: PlacementRequest): string {
    const unit = ResourceUnits[this.resource];
    const best = Math.max(...removed.map((h) => freeOf(h, this.resource, req)));
    return `${removed.length} lacked ${label[this.resource]} (need ${needOf(req, this.resource)} ${unit}, best free ${best} ${unit})`;
  }
}
