import { HypervisorError } from '@minicloud/hypervisor';
import { SshUnreachableError } from '@minicloud/ssh';
import { FakeDriver } from '../test-utils/fakes';
import { BuildRequest, VmBuilder } from './vm-builder';

const VM = '0b5d9a4e-3f7e-4c5b-9f0e-1a2b3c4d5e6f';
const sum = (c: string) => c.repeat(64);
const req = (cached: string[] = []): BuildRequest => ({
  vmId: VM,
  name: 'web-1',
  resources: { vcpus: 1, memoryMiB: 256, diskGiB: 1 },
  image: {
    format: 'qcow2',
    virtualSizeBytes: 64 << 20,
    cmdline: 'console=ttyS0',
    disk: { checksum: sum('a'), localPath: '/img.qcow2' },
    kernel: { checksum: sum('b'), localPath: '/img.vmlinuz' },
    initrd: { checksum: sum('c'), localPath: '/img.initrd' },
  },
  cachedChecksums: new Set(cached),
});
const fast = { sleep: async () => undefined };

describe('VmBuilder', () => {
  it('uploads the image files, cleans the slate, creates and starts the VM', async () => {
    const d = new FakeDriver();
    const r = await new VmBuilder(d, fast).build(req());
    expect(r.adopted).toBe(false);
    expect(r.uploaded).toHaveLength(3);
    expect(r.hostFiles.map((f) => f.checksum)).toEqual([sum('a'), sum('b'), sum('c')]);
    expect(d.calls).toEqual(['ensureImage trusted=false', `deleteVm ${VM}`, `createVm ${VM}`]);
    expect(d.domains.get(VM)).toBe('running');
  });

  it('trusts the cache only when every file is recorded as cached', async () => {
    const d = new FakeDriver();
    await new VmBuilder(d, fast).build(req([sum('a'), sum('b')]));
    expect(d.calls[0]).toBe('ensureImage trusted=false');
    const d2 = new FakeDriver();
    await new VmBuilder(d2, fast).build(req([sum('a'), sum('b'), sum('c')]));
    expect(d2.calls[0]).toBe('ensureImage trusted=true');
  });

  it('adopts a domain that is already running instead of building a second one', async () => {
    const d = new FakeDriver();
    d.domains.set(VM, 'running');
    const r = await new VmBuilder(d, fast).build(req());
    expect(r.adopted).toBe(true);
    expect(d.calls.some((c) => c.startsWith('createVm') || c.startsWith('deleteVm'))).toBe(false);
  });

  it('removes a half-built (defined, stopped) domain before rebuilding', async () => {
    const d = new FakeDriver();
    d.domains.set(VM, 'shutoff');
    await new VmBuilder(d, fast).build(req());
    expect(d.calls.slice(1)).toEqual([`deleteVm ${VM}`, `createVm ${VM}`]);
    expect(d.domains.get(VM)).toBe('running');
  });

  it('retries transient errors and gives up on permanent ones with the tool text', async () => {
    const d = new FakeDriver();
    d.failNext.ensureImage = [new SshUnreachableError('ECONNRESET')];
    d.failNext.createVm = [new HypervisorError('virsh start', 1, 'error: Timed out during operation: cannot acquire state change lock')];
    await new VmBuilder(d, fast).build(req());
    expect(d.calls.filter((c) => c.startsWith('createVm'))).toHaveLength(2);

    const d2 = new FakeDriver();
    d2.failNext.createVm = [new HypervisorError('virsh define', 1, "error: XML error: bad memory")];
    await expect(new VmBuilder(d2, fast).build(req())).rejects.toThrow(/XML error: bad memory/);
    expect(d2.calls.filter((c) => c.startsWith('createVm'))).toHaveLength(1);
  });

  it('fails when the domain is not running right after start, and leaves it for diagnosis', async () => {
    const d = new FakeDriver();
    d.stateAfterStart = 'shutoff';
    await expect(new VmBuilder(d, fast).build(req())).rejects.toThrow(/"shutoff" right after starting/);
    expect(d.domains.get(VM)).toBe('shutoff');
  });
});
