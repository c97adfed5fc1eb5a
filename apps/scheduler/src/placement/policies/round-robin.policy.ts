import { HostView } from '../types';
import { PlacementPolicy, RankedHost, rankedHost } from './placement-policy';

/**
 * Round-robin over the hosts that passed the filters, in host-id order, starting after the last host that got
 * a VM (the cursor). Each scheduler replica keeps its own cursor (a shared one would make every decision
 * write the same row); capacity safety never depends on it.
 */
export class RoundRobinPolicy implements PlacementPolicy {
  readonly name = 'round-robin';

  rank(candidates: HostView[], _req: unknown, cursor: string | null, limit = Infinity, passedTotal?: number): RankedHost[] {
    const sorted = [...candidates].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    // The first host after the cursor; past the last id (or no cursor) wraps to the first host.
    let start = cursor === null ? 0 : sorted.findIndex((h) => h.id > cursor);
    if (start < 0) start = 0;
    const ordered = [...sorted.slice(start), ...sorted.slice(0, start)].slice(0, limit);
    const n = passedTotal ?? sorted.length;
    return ordered.map((host, i) =>
      rankedHost(host, () =>
        `round-robin: host ${host.name} (${host.id}) is ${i === 0 ? 'next' : `choice ${i + 1}`} of ${n} ` +
        `${n === 1 ? 'host' : 'hosts'} that passed all filters` +
        (cursor ? ` (previous placement went to ${cursor})` : ''),
      ),
    );
  }

  nextCursor(claimed: HostView): string {
    return claimed.id;
  }
}
