import { HostView, PlacementRequest, Resource } from './types';

/**
 * Capacity arithmetic, shared by the filters and mirrored by the SQL guard of the claim
 * (`allocated + need <= floor(total * ratio)`, and for a non-preemptible VM also
 * `allocated - preemptible + reserved + need <= floor(total * ratio)`), so the two can never disagree.
 */
export function capacityOf(host: HostView, r: Resource): number {
  switch (r) {
    case 'vcpus':
      return Math.floor(host.totalVcpus * host.cpuAllocationRatio);
    case 'memory':
      return Math.floor(host.totalMemoryMiB * host.ramAllocationRatio);
    case 'disk':
      return Math.floor(host.totalDiskGiB * host.diskAllocationRatio);
  }
}

export function allocatedOf(host: HostView, r: Resource): number {
  return r === 'vcpus' ? host.allocatedVcpus : r === 'memory' ? host.allocatedMemoryMiB : host.allocatedDiskGiB;
}

export function preemptibleOf(host: HostView, r: Resource): number {
  return (r === 'vcpus' ? host.preemptibleVcpus : r === 'memory' ? host.preemptibleMemoryMiB : host.preemptibleDiskGiB) ?? 0;
}

export function reservedOf(host: HostView, r: Resource): number {
  return (r === 'vcpus' ? host.reservedVcpus : r === 'memory' ? host.reservedMemoryMiB : host.reservedDiskGiB) ?? 0;
}

/**
 * Free capacity after overcommit; never negative (a host can be over its capacity after its ratio is lowered).
 * Without `req`, or for a preemptible request, capacity held for reservations counts as free; a non-preemptible
 * request may not use it (its VM could still run when the reservation's window opens).
 */
export function freeOf(host: HostView, r: Resource, req?: Pick<PlacementRequest, 'preemptible'>): number {
  const cap = capacityOf(host, r);
  const plain = cap - allocatedOf(host, r);
  if (!req || req.preemptible) return Math.max(0, plain);
  const guaranteed = cap - (allocatedOf(host, r) - preemptibleOf(host, r)) - reservedOf(host, r);
  return Math.max(0, Math.min(plain, guaranteed));
}

export function needOf(req: Pick<PlacementRequest, 'vcpus' | 'memoryMiB' | 'diskGiB'>, r: Resource): number {
  return r === 'vcpus' ? req.vcpus : r === 'memory' ? req.memoryMiB : req.diskGiB;
}

/** True when the request fits the host now (all three resources). */
export function fits(host: HostView, req: PlacementRequest): boolean {
  return freeOf(host, 'vcpus', req) >= req.vcpus && freeOf(host, 'memory', req) >= req.memoryMiB && freeOf(host, 'disk', req) >= req.diskGiB;
}

/** True when the request would fit the host if nothing were allocated on it (it is not too big for it). */
export function fitsEmpty(host: HostView, req: PlacementRequest): boolean {
  return capacityOf(host, 'vcpus') >= req.vcpus && capacityOf(host, 'memory') >= req.memoryMiB && capacityOf(host, 'disk') >= req.diskGiB;
}

export interface AllocationRatios {
  cpu: number;
  ram: number;
  disk: number;
}

/** Nova's defaults: vCPUs overcommitted 4:1, memory and disk not overcommitted. */
export const DEFAULT_ALLOCATION_RATIOS: AllocationRatios = { cpu: 4.0, ram: 1.0, disk: 1.0 };

/**
 * Ratios given to newly registered hosts, from SCHEDULER_CPU_ALLOCATION_RATIO / _RAM_ / _DISK_ (positive
 * numbers up to 100), else the defaults. An invalid value is an error at start, never silently ignored.
 */
export function allocationRatiosFromEnv(env: NodeJS.ProcessEnv = process.env): AllocationRatios {
  const read = (key: string, dflt: number): number => {
    const raw = env[key];
    if (raw === undefined || raw === '') return dflt;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0 || n > 100) throw new Error(`${key} must be a number in (0, 100], got "${raw}"`);
    return n;
  };
  return {
    cpu: read('SCHEDULER_CPU_ALLOCATION_RATIO', DEFAULT_ALLOCATION_RATIOS.cpu),
    ram: read('SCHEDULER_RAM_ALLOCATION_RATIO', DEFAULT_ALLOCATION_RATIOS.ram),
    disk: read('SCHEDULER_DISK_ALLOCATION_RATIO', DEFAULT_ALLOCATION_RATIOS.disk),
  };
}
