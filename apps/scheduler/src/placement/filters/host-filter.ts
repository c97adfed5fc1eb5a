import { HostView, PlacementRequest } from '../types';

/**
 * One Nova-style filter: decides for one host whether it can take the request, and explains to a person
 * what it removed. Filters are pure and run in order; each sees only the hosts the previous ones kept.
 */
export interface HostFilter {
  /** Key in `removedByFilter` (e.g. "state", "memory"). */
  readonly name: string;
  passes(host: HostView, req: PlacementRequest): boolean;
  /** false when the filter cannot remove anything for this request (skipped on the fast path). */
  appliesTo?(req: PlacementRequest): boolean;
  /** e.g. "2 lacked memory (need 4096 MiB, best free 2048 MiB)"; `removed` is never empty. */
  describeRemoved(removed: HostView[], req: PlacementRequest): string;
}

export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
