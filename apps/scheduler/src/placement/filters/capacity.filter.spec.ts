import { host, request } from '../test-utils/hosts';
import { CapacityFilter } from './capacity.filter';

describe('CapacityFilter', () => {
  it('overcommits vCPUs by the host ratio (4 cores × 4.0 = 16 vCPUs)', () => {
    const f = new CapacityFilter('vcpus');
    expect(f.passes(host({ totalVcpus: 4, allocatedVcpus: 12 }), request({ vcpus: 4 }))).toBe(true);
    expect(f.passes(host({ totalVcpus: 4, allocatedVcpus: 13 }), request({ vcpus: 4 }))).toBe(false);
    expect(f.passes(host({ totalVcpus: 4, cpuAllocationRatio: 1, allocatedVcpus: 0 }), request({ vcpus: 5 }))).toBe(false);
  });

  it('does not overcommit memory at ratio 1.0 and accepts an exact fit', () => {
    const f = new CapacityFilter('memory');
    expect(f.passes(host({ totalMemoryMiB: 8192, allocatedMemoryMiB: 4096 }), request({ memoryMiB: 4096 }))).toBe(true);
    expect(f.passes(host({ totalMemoryMiB: 8192, allocatedMemoryMiB: 4097 }), request({ memoryMiB: 4096 }))).toBe(false);
    expect(f.passes(host({ totalMemoryMiB: 8192, ramAllocationRatio: 1.5, allocatedMemoryMiB: 8192 }), request({ memoryMiB: 4096 }))).toBe(true);
  });

  it('checks disk against total × disk ratio', () => {
    const f = new CapacityFilter('disk');
    expect(f.passes(host({ totalDiskGiB: 100, allocatedDiskGiB: 95 }), request({ diskGiB: 10 }))).toBe(false);
    expect(f.passes(host({ totalDiskGiB: 100, diskAllocationRatio: 2, allocatedDiskGiB: 95 }), request({ diskGiB: 10 }))).toBe(true);
  });

  it('explains the shortfall with the best free amount among removed hosts', () => {
    const f = new CapacityFilter('memory');
    const removed = [host({ allocatedMemoryMiB: 6144 }), host({ allocatedMemoryMiB: 7168 })];
    expect(f.name).toBe('memory');
    expect(f.describeRemoved(removed, request({ memoryMiB: 4096 }))).toBe('2 lacked memory (need 4096 MiB, best free 2048 MiB)');
    expect(new CapacityFilter('vcpus').describeRemoved([host({ allocatedVcpus: 15 })], request({ vcpus: 2 }))).toBe(
      '1 lacked vCPUs (need 2 vCPU, best free 1 vCPU)',
    );
  });
});
