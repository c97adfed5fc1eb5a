import { HostView, PlacementRequest } from '../types';

export interface RankedHost {
  host: HostView;
  /** Why this host is in this place of the order; becomes vm.scheduled's `reason` if it is claimed. */
  reason: string;
}

/**
 * A ranked host whose reason is written only when read: a policy ranks many hosts (a batch's short list keeps the
 * best 512 of 10,000) and only the claimed one's reason is ever used.
 */
export function rankedHost(host: HostView, explain: () => string): RankedHost {
  let reason: string | undefined;
  return {
    host,
    get reason(): string {
      return (reason ??= explain());
    },
  };
}

/**
 * Orders the hosts that passed the filters; the scheduler claims the first one it can. A policy may keep an
 * opaque cursor (stored per policy name) between decisions, e.g. round-robin's last host.
 */
export interface PlacementPolicy {
  readonly name: string;
  /**
   * The best `limit` candidates, best first (all of them without a limit). `passedTotal`: how many hosts passed
   * the filters, for the reason, when `candidates` is a subset of them (batch placement ranks a short list).
   */
  rank(candidates: HostView[], req: PlacementRequest, cursor: string | null, limit?: number, passedTotal?: number): RankedHost[];
  /** The cursor to store once `claimed` got the VM (null = keep none). */
  nextCursor(claimed: HostView): string | null;
}
