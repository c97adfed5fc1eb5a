import { cmd, virsh } from './commands';
import { assertImageCachePath, imagePath, vmDir, vmFilePath } from './layout';

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

describe('argv builders for a migration target', () => {
  it('only touch platform paths', () => {
    const disk = `/var/lib/minicloud/vms/${VM}/disk.qcow2`;
    expect(cmd.qemuImgInfoShared(disk)).toEqual(['qemu-img', 'info', '--output=json', '-U', disk]);
    expect(cmd.pathExists(disk)).toEqual(['test', '-e', disk]);
    expect(cmd.base64File(disk)).toEqual(['base64', '-w', '0', '--', disk]);
    expect(cmd.linkNoClobber(`${disk}.part`, disk)).toEqual(['ln', '--', `${disk}.part`, disk]);
    for (const bad of ['relative/path', '/etc/passwd', '/var/lib/minicloud/../x', '/var/lib/minicloud/a\nb', '-rf']) {
      expect(() => cmd.pathExists(bad)).toThrow(/not a platform path/);
      expect(() => cmd.moveFile(disk, bad)).toThrow(/not a platform path/);
    }
  });

  it('copies only the VM files it knows', () => {
    expect(vmFilePath(VM, 'seed.iso')).toBe(`/var/lib/minicloud/vms/${VM}/seed.iso`);
    expect(() => vmFilePath(VM, '../../etc/passwd' as never)).toThrow(/not a VM file/);
    expect(assertImageCachePath(`/var/lib/minicloud/images/${'c'.repeat(64)}.raw`)).toBeTruthy();
    expect(() => assertImageCachePath('/var/lib/minicloud/images/x.qcow2')).toThrow(/not an image in the host cache/);
  });
});
