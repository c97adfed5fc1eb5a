import { HostView } from '../types';
import { HostFilter } from './host-filter';

/** What a person reads as the host's state: a maintenance request (draining, maintenance) wins over liveness. */
export function effectiveState(host: HostView): string {
  return host.maintenance ?? host.state;
}

/** Whether the host takes new VMs: `up`, and not draining or in maintenance by a maintenance request. */
export function acceptsVms(host: HostView): boolean {
  return host.state === 'up' && !host.maintenance;
}

/** Only hosts that are `up` take new VMs (not down, disabled, in maintenance, or draining for maintenance). */
export class HostStateFilter implements HostFilter {
  readonly name = 'state';

  passes(host: HostView): boolean {
    return acceptsVms(host);
  }

  describeRemoved(removed: HostView[]): string {
    const byState = new Map<string, number>();
    for (const h of removed) byState.set(effectiveState(h), (byState.get(effectiveState(h)) ?? 0) + 1);
    const parts = [...byState.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => `${n} ${s}`);
    return `${removed.length} ${removed.length === 1 ? 'was' : 'were'} not up (${parts.join(', ')})`;
  }
}
