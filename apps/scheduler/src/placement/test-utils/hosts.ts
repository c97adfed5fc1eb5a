import { HostView, PlacementRequest } from '../types';

/** Builders for unit tests (not used by the service). */
export function host(over: Partial<HostView> = {}): HostView {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    name: 'h1',
    state: 'up',
    arch: 'x86_64',
    totalVcpus: 4,
    totalMemoryMiB: 8192,
    totalDiskGiB: 100,
    cpuAllocationRatio: 4,
    ramAllocationRatio: 1,
    diskAllocationRatio: 1,
    allocatedVcpus: 0,
    allocatedMemoryMiB: 0,
    allocatedDiskGiB: 0,
    generation: 0,
    ...over,
  };
}

export function request(over: Partial<PlacementRequest> = {}): PlacementRequest {
  return { vmId: '11111111-1111-4111-8111-111111111111', vcpus: 1, memoryMiB: 1024, diskGiB: 10, ...over };
}

export const ID = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
