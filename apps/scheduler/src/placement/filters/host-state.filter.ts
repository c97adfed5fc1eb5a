import { HostView } from '../types';
import { HostFilter } from './host-filter';

/** Only hosts that are `up` take new VMs (not down, disabled or in maintenance). */
export class HostStateFilter implements HostFilter {
  readonly name = 'state';

  passes(host: HostView): boolean {
    return host.state === 'up';
  }

  describeRemoved(removed: HostView[]): string {
    const byState = new Map<string, number>();
    for (const h of removed) byState.set(h.state, (byState.get(h.state) ?? 0) + 1);
    const parts = [...byState.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => `${n} ${s}`);
    return `${removed.length} ${removed.length === 1 ? 'was' : 'were'} not up (${parts.join(', ')})`;
  }
}
