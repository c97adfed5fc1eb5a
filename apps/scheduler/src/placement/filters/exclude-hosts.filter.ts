import { HostView, PlacementRequest } from '../types';
import { HostFilter } from './host-filter';

/** A VM whose build failed on a host is retried elsewhere: the hosts of earlier failed attempts are removed. */
export class ExcludeHostsFilter implements HostFilter {
  readonly name = 'retry';

  appliesTo(req: PlacementRequest): boolean {
    return !!req.excludeHosts?.length;
  }

  passes(host: HostView, req: PlacementRequest): boolean {
    return !req.excludeHosts?.length || !req.excludeHosts.includes(host.id);
  }

  describeRemoved(removed: HostView[]): string {
    return `${removed.length} already failed this VM's build`;
  }
}
