import { host, request } from '../test-utils/hosts';
import { CpuLoadWeigher, FillWeigher, FreeCapacityWeigher, InUseWeigher, MemoryLoadWeigher, parseWeights, VmCountWeigher } from './weigher';

describe('weighers', () => {
  it('cpu and memory read the latest metrics as a fraction (0 while unknown)', () => {
    expect(new CpuLoadWeigher().weigh(host({ cpuPercent: 40 }))).toBeCloseTo(0.4);
    expect(new CpuLoadWeigher().weigh(host({ cpuPercent: null }))).toBe(0);
    expect(new MemoryLoadWeigher().weigh(host({ memoryPercent: 75 }))).toBeCloseTo(0.75);
    expect(new CpuLoadWeigher().describe(host({ cpuPercent: 40 }))).toBe('cpu 40 %');
  });

  it('vms = min(vms / 10, 1), from the larger of the metrics count and the active claims', () => {
    const w = new VmCountWeigher();
    expect(w.weigh(host({ activeVms: 3 }))).toBeCloseTo(0.3);
    expect(w.weigh(host({ activeVms: 3, metricsVmCount: 5 }))).toBeCloseTo(0.5);
    expect(w.weigh(host({ activeVms: 25 }))).toBe(1);
  });

  it('free = average share left after placing; fill = binding resource share used after placing', () => {
    const h = host({ totalVcpus: 4, totalMemoryMiB: 8192, totalDiskGiB: 100, allocatedMemoryMiB: 4096 });
    const req = request({ vcpus: 4, memoryMiB: 2048, diskGiB: 10 });
    // vCPU (16 - 4) / 16 = 0.75, memory 2048 / 8192 = 0.25, disk 90 / 100 = 0.9
    expect(new FreeCapacityWeigher().weigh(h, req)).toBeCloseTo((0.75 + 0.25 + 0.9) / 3);
    expect(new FillWeigher().weigh(h, req)).toBeCloseTo(0.75);
  });

  it('in-use is 1 for a host with VMs, 0 for an empty one', () => {
    expect(new InUseWeigher().weigh(host({ activeVms: 1, allocatedMemoryMiB: 1024 }))).toBe(1);
    expect(new InUseWeigher().weigh(host())).toBe(0);
  });

  it('parses weights and refuses unknown weighers or bad numbers', () => {
    expect(parseWeights('cpu=0.5,memory=0.3,vms=0.2', 'x').map((w) => [w.weigher.name, w.multiplier])).toEqual([
      ['cpu', 0.5],
      ['memory', 0.3],
      ['vms', 0.2],
    ]);
    expect(() => parseWeights('gpu=1', 'x')).toThrow(/unknown weigher "gpu"/);
    expect(() => parseWeights('cpu=lots', 'x')).toThrow(/not name=number/);
  });
});
