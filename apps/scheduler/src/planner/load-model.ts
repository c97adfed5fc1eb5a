import { LoadCaps } from '../placement/filters/load.filter';
import { leastLoadedPolicy, WeighedPolicy } from '../placement/policies/weighed.policy';
import { HostView, PlacementRequest } from '../placement/types';

const NO_REQUEST: PlacementRequest = { vmId: '00000000-0000-4000-8000-000000000000', vcpus: 0, memoryMiB: 0, diskGiB: 0 };

/**
 * The load score of a host: the least-loaded policy's own score (default 0.5·cpu + 0.3·memory + 0.2·min(vms/10, 1),
 * as fractions), so the planner balances exactly what placement minimises. And the load caps of the load filter.
 */
export class LoadModel {
  constructor(
    readonly caps: LoadCaps,
    private readonly policy: WeighedPolicy = leastLoadedPolicy(),
  ) {}

  score(h: HostView): number {
    return this.policy.score(h, NO_REQUEST);
  }

  /** Percentage points above the caps (CPU + memory), 0 when within them. */
  overBy(h: HostView): number {
    return Math.max(0, (h.cpuPercent ?? 0) - this.caps.maxCpuPercent) + Math.max(0, (h.memoryPercent ?? 0) - this.caps.maxMemoryPercent);
  }

  overCaps(h: HostView): boolean {
    return this.overBy(h) > 0;
  }

  /** e.g. "cpu 92 % > 80 %, memory 40 %". */
  describe(h: HostView): string {
    const part = (name: string, v: number | null | undefined, cap: number) =>
      v == null ? `${name} unknown` : `${name} ${Math.round(v)} %${v > cap ? ` > ${cap} %` : ''}`;
    return `${part('cpu', h.cpuPercent, this.caps.maxCpuPercent)}, ${part('memory', h.memoryPercent, this.caps.maxMemoryPercent)}`;
  }
}
