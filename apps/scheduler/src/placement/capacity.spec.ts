import { allocationRatiosFromEnv, capacityOf, freeOf } from './capacity';
import { host } from './test-utils/hosts';

describe('capacity', () => {
  it('applies the per-host allocation ratio to each resource', () => {
    const h = host({ totalVcpus: 4, cpuAllocationRatio: 4, totalMemoryMiB: 8192, ramAllocationRatio: 1.5, totalDiskGiB: 100, diskAllocationRatio: 1 });
    expect(capacityOf(h, 'vcpus')).toBe(16);
    expect(capacityOf(h, 'memory')).toBe(12288);
    expect(capacityOf(h, 'disk')).toBe(100);
  });

  it('rounds fractional capacity down and never reports negative free', () => {
    expect(capacityOf(host({ totalVcpus: 3, cpuAllocationRatio: 1.5 }), 'vcpus')).toBe(4);
    expect(freeOf(host({ totalVcpus: 2, cpuAllocationRatio: 1, allocatedVcpus: 5 }), 'vcpus')).toBe(0);
    expect(freeOf(host({ allocatedMemoryMiB: 6144 }), 'memory')).toBe(2048);
  });

  it('reads allocation ratios from the environment with Nova defaults', () => {
    expect(allocationRatiosFromEnv({})).toEqual({ cpu: 4, ram: 1, disk: 1 });
    expect(allocationRatiosFromEnv({ SCHEDULER_RAM_ALLOCATION_RATIO: '1.5' })).toEqual({ cpu: 4, ram: 1.5, disk: 1 });
    expect(() => allocationRatiosFromEnv({ SCHEDULER_CPU_ALLOCATION_RATIO: 'lots' })).toThrow(/SCHEDULER_CPU_ALLOCATION_RATIO/);
    expect(() => allocationRatiosFromEnv({ SCHEDULER_DISK_ALLOCATION_RATIO: '0' })).toThrow();
  });
});
