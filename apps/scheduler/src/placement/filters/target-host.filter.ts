import { HostView, PlacementRequest } from '../types';
import { HostFilter } from './host-filter';

/** When the client named a host, every other host is removed (a no-op without a target). */
export class TargetHostFilter implements HostFilter {
  readonly name = 'target';

  appliesTo(req: PlacementRequest): boolean {
    return !!req.targetHostId;
  }

  passes(host: HostView, req: PlacementRequest): boolean {
    return !req.targetHostId || host.id === req.targetHostId;
  }

  describeRemoved(removed: HostView[], req: PlacementRequest): string {
    return `${removed.length} ${removed.length === 1 ? 'was' : 'were'} not the requested host ${req.targetHostId}`;
  }
}
