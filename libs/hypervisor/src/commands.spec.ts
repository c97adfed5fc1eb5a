import { cmd, virsh } from './commands';
import { imagePath, vmDir } from './layout';

const VM = '0b5d9a4e-3f7e-4c5b-9f0e-1a2b3c4d5e6f';

describe('argv builders', () => {
  it('always talks to qemu:///system and names domains mc-<id>', () => {
    expect(virsh('list')).toEqual(['virsh', '-c', 'qemu:///system', 'list']);
    expect(cmd.virshStart(VM)).toEqual(['virsh', '-c', 'qemu:///system', 'start', `mc-${VM}`]);
    expect(cmd.virshList()).toEqual(['virsh', '-c', 'qemu:///system', 'list', '--all', '--uuid', '--name']);
  });

  it('builds a linked clone with explicit backing format and byte size', () => {
    expect(cmd.qemuImgOverlay('/var/lib/minicloud/images/t.qcow2', 'qcow2', '/var/lib/minicloud/vms/x/disk.qcow2', 1073741824)).toEqual([
      'qemu-img', 'create', '-f', 'qcow2', '-F', 'qcow2', '-b', '/var/lib/minicloud/images/t.qcow2', '/var/lib/minicloud/vms/x/disk.qcow2', '1073741824',
    ]);
    expect(() => cmd.qemuImgOverlay('/a', 'qcow2', '/b', 0)).toThrow(/disk size/);
  });

  it('only ever removes a VM directory named by a UUID', () => {
    expect(cmd.removeVmDir(VM)).toEqual(['rm', '-rf', '--', `/var/lib/minicloud/vms/${VM}`]);
    expect(() => cmd.removeVmDir('')).toThrow(/UUID/);
    expect(() => cmd.removeVmDir('../..')).toThrow(/UUID/);
    expect(() => cmd.removeVmDir(`${VM}/../..`)).toThrow(/UUID/);
  });

  it('validates paths and counts', () => {
    expect(imagePath('a'.repeat(64), 'qcow2')).toBe(`/var/lib/minicloud/images/${'a'.repeat(64)}.qcow2`);
    expect(() => imagePath('xyz', 'qcow2')).toThrow(/checksum/);
    expect(vmDir(VM)).toBe(`/var/lib/minicloud/vms/${VM}`);
    expect(cmd.tail('/x', 50)).toEqual(['tail', '-n', '50', '--', '/x']);
    expect(() => cmd.tail('/x', 0)).toThrow(/line count/);
  });
});
