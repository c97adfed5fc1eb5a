import type { HostFacts, VmState } from '@minicloud/contracts';

export interface Resources {
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
}

export interface HostCapacity {
  capacity: Resources;
  allocated: Resources;
  /** capacity - allocated, never below 0. */
  free: Resources;
  /** VMs counted in `allocated`. */
  vmCount: number;
}

/** A VM on a host holds its resources unless it is deleted or failed. */
export function holdsResources(status: VmState): boolean {
  return status !== 'deleted' && status !== 'failed';
}

/** Capacity from the host's facts, allocation = the VMs on it that hold resources (read model). */
export function hostCapacity(facts: Pick<HostFacts, 'cpus' | 'memoryMiB' | 'diskGiB'>, vms: (Resources & { status: VmState })[]): HostCapacity {
  const capacity = { vcpus: facts.cpus, memoryMiB: facts.memoryMiB, diskGiB: facts.diskGiB };
  const holding = vms.filter((v) => holdsResources(v.status));
  const allocated = holding.reduce((a, v) => ({ vcpus: a.vcpus + v.vcpus, memoryMiB: a.memoryMiB + v.memoryMiB, diskGiB: a.diskGiB + v.diskGiB }), { vcpus: 0, memoryMiB: 0, diskGiB: 0 });
  const free = {
    vcpus: Math.max(0, capacity.vcpus - allocated.vcpus),
    memoryMiB: Math.max(0, capacity.memoryMiB - allocated.memoryMiB),
    diskGiB: Math.max(0, capacity.diskGiB - allocated.diskGiB),
  };
  return { capacity, allocated, free, vmCount: holding.length };
}
