import { assertHostPath, sharedStorageDir, vmDiskPathFor, vmSharedDir } from './layout';
import { cmd } from './commands';

const VM = '0b5d9a4e-3f7e-4c5b-9f0e-1a2b3c4d5e6f';

describe('shared datastore layout', () => {
  it('reads the shared datastore from MINICLOUD_SHARED_STORAGE_DIR (default /var/lib/minicloud/shared)', () => {
    expect(sharedStorageDir({})).toBe('/var/lib/minicloud/shared');
    expect(sharedStorageDir({ MINICLOUD_SHARED_STORAGE_DIR: '/mnt/nfs/minicloud/' })).toBe('/mnt/nfs/minicloud');
  });

  it.each([
    ['relative', 'shared'],
    ['root', '/'],
    ['one level', '/shared'],
    ['dot-dot', '/var/lib/../etc'],
    ['a space', '/mnt/my share'],
    ['a shell character', '/mnt/x;rm -rf'],
    ['the platform root', '/var/lib/minicloud'],
    ['a parent of the platform root', '/var/lib'],
    ['the host-local VM directory', '/var/lib/minicloud/vms'],
    ['inside the image cache', '/var/lib/minicloud/images/shared'],
  ])('refuses a shared datastore path that is %s', (_what, dir) => {
    expect(() => sharedStorageDir({ MINICLOUD_SHARED_STORAGE_DIR: dir })).toThrow(/MINICLOUD_SHARED_STORAGE_DIR/);
  });

  it('puts a shared VM\'s disk on the datastore and a local VM\'s in its host directory', () => {
    expect(vmDiskPathFor(VM, 'shared')).toBe(`/var/lib/minicloud/shared/vms/${VM}/disk.qcow2`);
    expect(vmDiskPathFor(VM, 'local')).toBe(`/var/lib/minicloud/vms/${VM}/disk.qcow2`);
    expect(vmDiskPathFor(VM)).toBe(`/var/lib/minicloud/vms/${VM}/disk.qcow2`);
    expect(() => vmDiskPathFor(VM, 'ceph' as never)).toThrow(/storage must be/);
    expect(() => vmSharedDir('../../etc')).toThrow(/lower-case UUID/);
  });

  it('accepts paths on the shared datastore as platform paths, nothing outside', () => {
    expect(assertHostPath(`/var/lib/minicloud/shared/vms/${VM}/disk.qcow2`)).toContain(VM);
    expect(() => assertHostPath('/var/lib/minicloud/shared/../../../etc/shadow')).toThrow(/not a platform path/);
    expect(() => assertHostPath('/etc/shadow')).toThrow(/not a platform path/);
  });

  it('removes exactly one VM directory of the datastore (validated id)', () => {
    expect(cmd.removeSharedVmDir(VM)).toEqual(['rm', '-rf', '--', `/var/lib/minicloud/shared/vms/${VM}`]);
    expect(() => cmd.removeSharedVmDir('')).toThrow(/lower-case UUID/);
    expect(() => cmd.removeSharedVmDir(`${VM}/..`)).toThrow(/lower-case UUID/);
  });
});
