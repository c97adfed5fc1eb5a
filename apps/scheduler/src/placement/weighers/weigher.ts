import { capacityOf, allocatedOf, needOf } from '../capacity';
import { HostView, PlacementRequest, Resources } from '../types';

/**
 * One Nova-style weigher: a number in [0, 1] for one host and one request. A policy multiplies each weigher
 * by its configured weight and adds them up. Weighers are absolute (not normalised across hosts), so a score
 * means the same thing on every host and in every decision.
 */
export interface Weigher {
  readonly name: string;
  weigh(host: HostView, req: PlacementRequest): number;
  /** How the raw figure reads in a placement's reason, e.g. "cpu 12 %". */
  describe(host: HostView, req: PlacementRequest): string;
}

const pct = (v: number) => `${Math.round(v * 100)} %`;

/** Measured CPU use (host.metrics cpuPercent / 100; 0 while unknown). */
export class CpuLoadWeigher implements Weigher {
  readonly name = 'cpu';
  weigh(h: HostView): number {
    return Math.min(1, Math.max(0, (h.cpuPercent ?? 0) / 100));
  }
  describe(h: HostView): string {
    return h.cpuPercent == null ? 'cpu unknown' : `cpu ${pct(this.weigh(h))}`;
  }
}

/** Measured memory use (host.metrics memoryUsedPercent / 100; 0 while unknown). */
export class MemoryLoadWeigher implements Weigher {
  readonly name = 'memory';
  weigh(h: HostView): number {
    return Math.min(1, Math.max(0, (h.memoryPercent ?? 0) / 100));
  }
  describe(h: HostView): string {
    return h.memoryPercent == null ? 'memory unknown' : `memory ${pct(this.weigh(h))}`;
  }
}

/** VMs on the host, min(vms / 10, 1): the larger of the metrics' vmCount and the scheduler's own active claims. */
export class VmCountWeigher implements Weigher {
  readonly name = 'vms';
  count(h: HostView): number {
    return Math.max(h.metricsVmCount ?? 0, h.activeVms ?? 0);
  }
  weigh(h: HostView): number {
    return Math.min(this.count(h) / 10, 1);
  }
  describe(h: HostView): string {
    return `${this.count(h)} vms`;
  }
}

/** Share of each resource still free after placing the VM, averaged over vCPU, memory and disk (spread). */
export class FreeCapacityWeigher implements Weigher {
  readonly name = 'free';
  weigh(h: HostView, req: PlacementRequest): number {
    let sum = 0;
    for (const r of Resources) {
      const cap = capacityOf(h, r);
      sum += cap > 0 ? Math.max(0, cap - allocatedOf(h, r) - needOf(req, r)) / cap : 0;
    }
    return sum / Resources.length;
  }
  describe(h: HostView, req: PlacementRequest): string {
    return `free after ${pct(this.weigh(h, req))}`;
  }
}

/** How full the host's binding resource is after placing the VM (best fit, for pack). */
export class FillWeigher implements Weigher {
  readonly name = 'fill';
  weigh(h: HostView, req: PlacementRequest): number {
    let max = 0;
    for (const r of Resources) {
      const cap = capacityOf(h, r);
      const f = cap > 0 ? Math.min(1, (allocatedOf(h, r) + needOf(req, r)) / cap) : 1;
      if (f > max) max = f;
    }
    return max;
  }
  describe(h: HostView, req: PlacementRequest): string {
    return `fill after ${pct(this.weigh(h, req))}`;
  }
}

/** 1 for a host that already runs VMs, 0 for an empty one (pack keeps empty hosts empty, e.g. powered down). */
export class InUseWeigher implements Weigher {
  readonly name = 'in-use';
  weigh(h: HostView): number {
    return (h.activeVms ?? 0) > 0 || h.allocatedMemoryMiB > 0 || h.allocatedVcpus > 0 ? 1 : 0;
  }
  describe(h: HostView): string {
    return this.weigh(h) ? 'in use' : 'empty';
  }
}

export const WEIGHERS: Record<string, () => Weigher> = {
  cpu: () => new CpuLoadWeigher(),
  memory: () => new MemoryLoadWeigher(),
  vms: () => new VmCountWeigher(),
  free: () => new FreeCapacityWeigher(),
  fill: () => new FillWeigher(),
  'in-use': () => new InUseWeigher(),
};

export interface WeightedWeigher {
  weigher: Weigher;
  multiplier: number;
}

/** Parses "cpu=0.5,memory=0.3,vms=0.2" (unknown weigher names or non-numbers are an error at start). */
export function parseWeights(spec: string, label: string): WeightedWeigher[] {
  const out: WeightedWeigher[] = [];
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z-]+)=(-?[0-9]*\.?[0-9]+)$/.exec(part);
    if (!m) throw new Error(`${label}: "${part}" is not name=number`);
    const make = WEIGHERS[m[1]];
    if (!make) throw new Error(`${label}: unknown weigher "${m[1]}"; known: ${Object.keys(WEIGHERS).join(', ')}`);
    out.push({ weigher: make(), multiplier: Number(m[2]) });
  }
  if (!out.length) throw new Error(`${label}: no weighers given`);
  return out;
}
