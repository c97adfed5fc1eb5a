import { HostView, PlacementRequest } from '../types';
import { HostFilter } from './host-filter';

/** A VM on the shared datastore (`storage: shared`) only goes to hosts that mount it; local VMs go anywhere. */
export class SharedStorageFilter implements HostFilter {
  readonly name = 'shared-storage';

  appliesTo(req: PlacementRequest): boolean {
    return req.storage === 'shared';
  }

  passes(host: HostView, req: PlacementRequest): boolean {
    return req.storage !== 'shared' || host.sharedStorage === true;
  }

  describeRemoved(removed: HostView[]): string {
    return `${removed.length} had no shared datastore (the VM's disk is on shared storage)`;
  }
}
