import { hostCapacity } from './host-capacity';

const facts = { cpus: 4, memoryMiB: 8192, diskGiB: 100 };
const vm = (status: any, vcpus = 1, memoryMiB = 512, diskGiB = 10) => ({ status, vcpus, memoryMiB, diskGiB });

describe('hostCapacity', () => {
  it('is all free on an empty host', () => {
    expect(hostCapacity(facts, [])).toEqual({
      capacity: { vcpus: 4, memoryMiB: 8192, diskGiB: 100 },
      allocated: { vcpus: 0, memoryMiB: 0, diskGiB: 0 },
      free: { vcpus: 4, memoryMiB: 8192, diskGiB: 100 },
      vmCount: 0,
    });
  });

  it('sums the VMs that hold resources, not deleted or failed ones', () => {
    const c = hostCapacity(facts, [vm('running', 2, 1024, 20), vm('stopped'), vm('provisioning'), vm('failed', 4, 4096), vm('deleted', 4, 4096)]);
    expect(c.allocated).toEqual({ vcpus: 4, memoryMiB: 2048, diskGiB: 40 });
    expect(c.free).toEqual({ vcpus: 0, memoryMiB: 6144, diskGiB: 60 });
    expect(c.vmCount).toBe(3);
  });

  it('never shows negative free space when overcommitted', () => {
    expect(hostCapacity(facts, [vm('running', 8, 16384, 200)]).free).toEqual({ vcpus: 0, memoryMiB: 0, diskGiB: 0 });
  });
});
