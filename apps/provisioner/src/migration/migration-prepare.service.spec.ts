import { randomUUID } from 'crypto';
import { RpcError } from '@minicloud/messaging';
import { SshUnreachableError } from '@minicloud/ssh';
import type { HostEntity, ImageEntity, VmEntity } from '../persistence/entities';
import type { ProvisionerRepository } from '../persistence/repositories';
import { FakeDriver } from '../test-utils/fakes';
import { MemRepo } from '../test-utils/mem-repo';
import { MigrationPrepareService } from './migration-prepare.service';

const H1 = randomUUID();
const H2 = randomUUID();
const IMAGE = randomUUID();
const SUM = 'a'.repeat(64);
const KSUM = 'b'.repeat(64);
const ISUM = 'c'.repeat(64);
const GiB = 1024 ** 3;
const TEMPLATE = `/var/lib/minicloud/images/${SUM}.qcow2`;

function setup(state: VmEntity['state'] = 'running') {
  const repo = new MemRepo();
  repo.hosts.set(H1, { id: H1, name: 'lab-h1', address: '10.254.7.11' } as HostEntity);
  repo.hosts.set(H2, { id: H2, name: 'lab-h2', address: '10.254.7.12' } as HostEntity);
  repo.images.set(IMAGE, {
    id: IMAGE, name: 'lab', path: '/images/lab.qcow2', format: 'qcow2', checksum: SUM, virtualSizeBytes: 64 << 20,
    kernelPath: '/images/lab.vmlinuz', kernelChecksum: KSUM, initrdPath: '/images/lab.initrd', initrdChecksum: ISUM,
  } as ImageEntity);
  const vmId = randomUUID();
  repo.vms.set(vmId, { id: vmId, name: 'web-1', hostId: H1, imageId: IMAGE, state, generation: 3, domainName: `mc-${vmId}`, lastError: null } as VmEntity);
  const drivers = { [H1]: new FakeDriver(), [H2]: new FakeDriver() };
  const src = drivers[H1];
  const dst = drivers[H2];
  // The VM as built on h1: its overlay disk (2 GiB on the template), the template, kernel and initrd, its seed.
  src.disks.set(vmId, { format: 'qcow2', virtualSizeBytes: 2 * GiB, backingFile: TEMPLATE, backingFormat: 'qcow2' });
  for (const f of [TEMPLATE, `/var/lib/minicloud/images/${KSUM}.vmlinuz`, `/var/lib/minicloud/images/${ISUM}.initrd`]) src.cache.add(f);
  src.vmFiles.set(`${vmId}/seed.iso`, Buffer.from([0x43, 0x44, 0x30, 0x30, 0x31, 0, 0xff]));
  const svc = new MigrationPrepareService(repo as unknown as ProvisionerRepository, (h) => drivers[(h as HostEntity).id]);
  const prepare = (storage: 'copy' | 'shared' = 'copy', targetHostId = H2, id = vmId) => svc.prepare({ vmId: id, targetHostId, storage });
  const refusal = (p: Promise<unknown>) => p.then(() => { throw new Error('expected a refusal'); }, (e) => e as RpcError);
  return { repo, vmId, src, dst, prepare, refusal };
}

describe('MigrationPrepareService (rpc prepare-migration)', () => {
  it('storage copy: image files in the target cache, the VM directory, an overlay like the source\'s, the seed copied', async () => {
    const t = setup();
    const r = await t.prepare('copy');
    const disk = `/var/lib/minicloud/vms/${t.vmId}/disk.qcow2`;
    expect(r).toEqual({
      vmId: t.vmId, sourceHostId: H1, targetHostId: H2, diskPath: disk,
      prepared: [TEMPLATE, `/var/lib/minicloud/images/${KSUM}.vmlinuz`, `/var/lib/minicloud/images/${ISUM}.initrd`, disk, `/var/lib/minicloud/vms/${t.vmId}/seed.iso`],
    });
    expect(t.dst.disks.get(t.vmId)).toEqual({ format: 'qcow2', virtualSizeBytes: 2 * GiB, backingFile: TEMPLATE, backingFormat: 'qcow2' });
    expect(t.dst.vmDirs.has(t.vmId)).toBe(true);
    expect(t.dst.vmFiles.get(`${t.vmId}/seed.iso`)).toEqual(t.src.vmFiles.get(`${t.vmId}/seed.iso`));
    expect(t.repo.hostImages.get(H2)?.sort()).toEqual([SUM, KSUM, ISUM].sort());
    expect(t.repo.vms.get(t.vmId)?.migrationTargetHostId).toBe(H2);
    // Nothing changed on the source, and the VM's state is untouched.
    expect(t.src.calls.filter((c) => !/^vmDiskInfo|^readVmFile/.test(c))).toEqual([]);
    expect(t.repo.vms.get(t.vmId)).toMatchObject({ state: 'running', generation: 3, hostId: H1 });
  });

  it('is harmless a second time: nothing is put there again and the disk is not touched', async () => {
    const t = setup();
    await t.prepare('copy');
    const disk = t.dst.disks.get(t.vmId);
    t.dst.calls = [];
    const again = await t.prepare('copy');
    expect(again.prepared).toEqual([]);
    expect(t.dst.disks.get(t.vmId)).toBe(disk);
    expect(t.dst.calls).toContain('ensureImage trusted=true');
    expect(t.dst.calls.filter((c) => /writeVmFile/.test(c))).toEqual([]);
  });

  it('never overwrites a different disk already on the target', async () => {
    const t = setup();
    t.dst.disks.set(t.vmId, { format: 'qcow2', virtualSizeBytes: GiB, backingFile: TEMPLATE, backingFormat: 'qcow2' });
    const e = await t.refusal(t.prepare('copy'));
    expect(e.status).toBe(409);
    expect(e.message).toMatch(/lab-h2 already has a disk .*disk\.qcow2 that is not like the source's .*never overwritten/);
    expect(t.dst.disks.get(t.vmId)?.virtualSizeBytes).toBe(GiB);
  });

  it('storage shared is refused for a VM with a host-local disk, whatever the target sees', async () => {
    const t = setup();
    t.dst.extraPaths.add(`/var/lib/minicloud/vms/${t.vmId}/disk.qcow2`);
    const e = await t.refusal(t.prepare('shared'));
    expect(e.status).toBe(409);
    expect(e.message).toBe(`VM ${t.vmId} has a host-local disk (storage 'local'): no other host sees it, migrate it with storage 'copy'`);
    expect(t.dst.calls).toEqual([]);
    expect(t.repo.vms.get(t.vmId)?.migrationTargetHostId).toBeUndefined();
  });

  /** A VM built on the shared datastore that both hosts mount (the same disk seen from h1 and h2). */
  function sharedSetup(targetHasDatastore = true) {
    const t = setup();
    Object.assign(t.repo.vms.get(t.vmId)!, { storage: 'shared' });
    for (const id of [H1, H2]) t.repo.hosts.get(id)!.facts = { sharedStorage: id === H1 || targetHasDatastore } as HostEntity['facts'];
    const datastore = new Map([[t.vmId, { format: 'qcow2', virtualSizeBytes: 2 * GiB, backingFile: TEMPLATE, backingFormat: 'qcow2' }]]);
    t.src.disks.delete(t.vmId);
    t.src.sharedDisks = datastore;
    if (targetHasDatastore) t.dst.sharedDisks = datastore;
    return { ...t, datastore, disk: `/var/lib/minicloud/shared/vms/${t.vmId}/disk.qcow2` };
  }

  it('storage shared for a VM on the shared datastore: the target gets the image, the directory and the seed, never a disk', async () => {
    const t = sharedSetup();
    const r = await t.prepare('shared');
    expect(r).toEqual({
      vmId: t.vmId, sourceHostId: H1, targetHostId: H2, diskPath: t.disk,
      prepared: [TEMPLATE, `/var/lib/minicloud/images/${KSUM}.vmlinuz`, `/var/lib/minicloud/images/${ISUM}.initrd`, `/var/lib/minicloud/vms/${t.vmId}/seed.iso`],
    });
    expect(t.dst.cache.has(TEMPLATE)).toBe(true); // the shared overlay's backing file, at the same path as on the source
    expect(t.dst.vmDirs.has(t.vmId)).toBe(true); // console log and seed stay host-local
    expect(t.dst.disks.has(t.vmId)).toBe(false);
    expect(t.dst.calls.filter((c) => /createVmDiskOverlay|deleteVm/.test(c))).toEqual([]);
    expect(t.datastore.size).toBe(1);
    expect((await t.prepare('shared')).prepared).toEqual([]); // idempotent
  });

  it('storage copy is refused for a VM on the shared datastore, and so is a target without the datastore', async () => {
    const t = sharedSetup();
    const copy = await t.refusal(t.prepare('copy'));
    expect([copy.status, copy.message]).toEqual([409, `VM ${t.vmId} has its disk on the shared datastore: it migrates with storage 'shared' (the disk stays where it is), not 'copy'`]);
    expect(t.dst.calls).toEqual([]);

    const u = sharedSetup(false);
    const none = await u.refusal(u.prepare('shared'));
    expect([none.status, none.message]).toEqual([409, `host lab-h2 has no shared datastore, so it cannot run VM ${u.vmId} whose disk is on it`]);
    expect(u.dst.calls).toEqual([]);
  });

  it('storage shared: refused when the target does not see the VM\'s disk on the datastore', async () => {
    const t = sharedSetup();
    t.dst.sharedDisks = new Map();
    const e = await t.refusal(t.prepare('shared'));
    expect([e.status, e.message]).toEqual([409, `storage 'shared' but host lab-h2 does not see ${t.disk}`]);
    expect(t.dst.calls).toEqual([]);
  });

  it('answers 404 for an unknown VM or host, 409 for the VM\'s own host or a VM that cannot move', async () => {
    const t = setup();
    expect((await t.refusal(t.prepare('copy', H2, randomUUID()))).status).toBe(404);
    const unknownHost = await t.refusal(t.prepare('copy', randomUUID()));
    expect(unknownHost.status).toBe(404);
    expect(unknownHost.message).toMatch(/is not registered/);
    const same = await t.refusal(t.prepare('copy', H1));
    expect(same.status).toBe(409);
    expect(same.message).toBe(`VM ${t.vmId} already runs on host lab-h1: the target must be another host`);
    for (const state of ['provisioning', 'suspended', 'deleting', 'deleted', 'failed'] as const) {
      const s = setup(state);
      const e = await s.refusal(s.prepare('copy'));
      expect([e.status, e.message]).toEqual([409, `VM ${s.vmId} is ${state}: only a running, stopped, migrating VM can be migrated`]);
    }
    for (const state of ['stopped', 'migrating'] as const) {
      const s = setup(state);
      expect((await s.prepare('copy')).prepared).toContain(`/var/lib/minicloud/vms/${s.vmId}/disk.qcow2`);
    }
  });

  it('refuses a source disk that is not a linked clone of a cached image, and says when a host is away', async () => {
    const t = setup();
    t.src.disks.set(t.vmId, { format: 'qcow2', virtualSizeBytes: GiB, backingFile: '/somewhere/else.qcow2', backingFormat: 'qcow2' });
    const e = await t.refusal(t.prepare('copy'));
    expect(e.status).toBe(409);
    expect(e.message).toMatch(/backed by \/somewhere\/else\.qcow2, which is not an image of the platform's cache/);
    expect(t.dst.disks.has(t.vmId)).toBe(false);

    const u = setup();
    u.dst.failNext.ensureImage = [new SshUnreachableError('10.254.7.12:22 is unreachable: ECONNREFUSED')];
    const away = await u.refusal(u.prepare('copy'));
    expect(away.status).toBe(503);
    expect(away.message).toMatch(/^host lab-h2 \(10\.254\.7\.12\) is unreachable/);
  });
});
