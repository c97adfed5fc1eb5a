/**
 * VMs on the shared datastore, on the lab, through the REST API as a user does it. Every lab host binds the same
 * directory at /var/lib/minicloud/shared (the lab's stand-in for an NFS export), marked as the platform's datastore. A VM created with `storage: shared` keeps its disk there, and a live migration moves only
 * its memory: the guest's console counter goes on without a gap, and the disk is the same file, not a copy.
 */
import { Platform, sleep } from './support/platform';
import { cleanLabVms, LabHost, onHost, virsh } from './support/lab';
import { finished, Guests } from './support/guests';

const SHARED = '/var/lib/minicloud/shared';
const sharedDir = (vmId: string) => `${SHARED}/vms/${vmId}`;
const sharedDisk = (vmId: string) => `${sharedDir(vmId)}/disk.qcow2`;
const localDir = (vmId: string) => `/var/lib/minicloud/vms/${vmId}`;

/** The top layer's extents that hold data (what the guest wrote into its overlay), as `qemu-img map` reports them. */
async function writtenExtents(p: Platform, host: LabHost, path: string): Promise<string[]> {
  const map = JSON.parse(await onHost(p.lab, host, ['qemu-img', 'map', '-U', '--output=json', path])) as { start: number; length: number; depth: number; data: boolean }[];
  return map.filter((e) => e.depth === 0 && e.data).map((e) => `${e.start}+${e.length}`);
}

describe('VMs on shared storage on the lab', () => {
  let p: Platform;
  let hosts: any[] = [];
  let g: Guests;
  const created: string[] = [];

  beforeAll(async () => {
    p = await Platform.start('shared-storage');
    // The lab marks its shared directory as the datastore (infra/lab/lab.sh), as an operator does once.
    hosts = (await p.registerLab()).hosts;
    g = new Guests(p, hosts, created);
  });

  afterAll(async () => {
    await p?.stop();
    if (p?.lab) {
      await cleanLabVms(p.lab, created);
      for (const id of created) await onHost(p.lab, p.lab.hosts[0], ['rm', '-rf', '--', sharedDir(id)]).catch(() => undefined);
    }
  });

  it('every lab host reports the shared datastore', () => {
    expect(hosts.length).toBeGreaterThanOrEqual(2);
    for (const h of hosts) expect(h.facts.sharedStorage).toBe(true);
  });

  it('live-migrates a shared-storage VM with storage shared: same disk, the guest counts on, the source is gone', async () => {
    const h1 = hosts[0];
    const h2 = g.other(h1.id);
    const src = g.labHost(h1.id);
    const dst = g.labHost(h2.id);
    const vmId = await g.bootedVm('shared-live', h1.id, { storage: 'shared' });
    const vm = (await p.api('GET', `/v1/vms/${vmId}`)).body;
    expect(vm.storage).toBe('shared');

    // The disk is on the datastore (seen from both hosts); console log and seed stay in the host's own directory.
    expect(await g.exists(src, sharedDisk(vmId))).toBe(true);
    expect(await g.exists(dst, sharedDisk(vmId))).toBe(true);
    expect(await g.exists(src, `${localDir(vmId)}/disk.qcow2`)).toBe(false);
    expect(await g.exists(src, `${localDir(vmId)}/console.log`)).toBe(true);
    expect(await virsh(p.lab, src, 'domblklist', `mc-${vmId}`)).toContain(sharedDisk(vmId));
    // What the guest wrote into its disk while booting (ext4 mount bookkeeping): it must still be there afterwards.
    const inode = (await onHost(p.lab, src, ['stat', '-c', '%i', sharedDisk(vmId)])).trim();
    const written = await writtenExtents(p, src, sharedDisk(vmId));
    expect(written.length).toBeGreaterThan(0);

    // Copying a shared disk is refused with the reason; nothing starts.
    const copy = await p.api('POST', `/v1/vms/${vmId}/migrate`, { storage: 'copy' });
    expect(copy.status).toBe(409);
    expect(copy.body.message).toMatch(/shared datastore.*storage "shared"/);

    // No storage given: a shared VM moves with storage shared.
    const r = await p.api('POST', `/v1/vms/${vmId}/migrate`, { targetHost: h2.id });
    expect(r.status).toBe(202);
    expect(r.body.storage).toBe('shared');
    const lastOnSource = await g.lastSourceCounter(src, vmId, r.body.id);
    const m = await g.waitMigration(r.body.id, finished);
    expect({ state: m.state, error: m.error }).toEqual({ state: 'completed', error: null });
    expect(m).toMatchObject({ vmId, sourceHostId: h1.id, targetHostId: h2.id, mode: 'live', storage: 'shared' });

    // The platform and libvirt agree: it runs on h2 only, from the same disk file.
    const moved = await p.waitForVm(vmId, (v) => v.status === 'running' && v.host?.id === h2.id, 30_000);
    expect(moved.host.address).toBe(h2.address);
    expect(await g.domState(dst, vmId)).toBe('running');
    expect(await g.domState(src, vmId)).toBe('absent');
    expect(await virsh(p.lab, dst, 'domblklist', `mc-${vmId}`)).toContain(sharedDisk(vmId));
    expect((await onHost(p.lab, dst, ['stat', '-c', '%i', sharedDisk(vmId)])).trim()).toBe(inode);
    expect(await writtenExtents(p, dst, sharedDisk(vmId))).toEqual(expect.arrayContaining(written));
    expect(await g.exists(dst, `${localDir(vmId)}/disk.qcow2`)).toBe(false);
    expect(await g.exists(src, sharedDisk(vmId))).toBe(true); // the source side's cleanup never removes the shared disk
    expect(await g.exists(src, localDir(vmId))).toBe(false); // the source keeps nothing else (console log, seed ISO)

    // The guest counts on, one by one, from where it stopped on the source: no reboot, no gap.
    await g.countsOnFrom(dst, vmId, lastOnSource);

    // Deleting the VM removes its directory on the datastore too.
    const del = await p.api('DELETE', `/v1/vms/${vmId}`);
    expect(del.status).toBe(202);
    await p.waitForVm(vmId, (v) => v.status === 'deleted', 60_000);
    expect(await g.exists(src, sharedDir(vmId))).toBe(false);
    expect(await g.exists(dst, localDir(vmId))).toBe(false);
    expect(await g.domState(dst, vmId)).toBe('absent');
  });

  it('refuses storage shared for a VM with a host-local disk, saying why', async () => {
    const h1 = hosts[0];
    const vmId = await g.bootedVm('local-disk', h1.id);
    expect((await p.api('GET', `/v1/vms/${vmId}`)).body.storage).toBe('local');
    const r = await p.api('POST', `/v1/vms/${vmId}/migrate`, { storage: 'shared' });
    expect(r.status).toBe(409);
    expect(r.body.message).toMatch(/host-local disk.*use "copy"/);
    expect(await g.domState(g.labHost(h1.id), vmId)).toBe('running');
  });

  it('a priority-1 VM that needs the room of a preemptible VM moves it live to the other host: it counts on there', async () => {
    const h1 = hosts[0];
    const h2 = g.other(h1.id);
    const src = g.labHost(h1.id);
    const dst = g.labHost(h2.id);
    // The preemptible VM claims 20 GiB of h1's disk (a sparse overlay on the datastore).
    const spot = await g.bootedVm('spot', h1.id, { storage: 'shared', diskGiB: 20, preemptible: true, priority: 4 });
    // The urgent VM asks for more disk than h1 has left, but not more than it would have without the spot VM.
    const free = (await p.api('GET', `/v1/hosts/${h1.id}`)).body.free.diskGiB as number;
    expect(free).toBeGreaterThan(0);
    const urgent = await p.api('POST', '/v1/vms', { name: 'urgent', vcpus: 1, memoryMiB: 256, diskGiB: free + 10, image: 'minicloud-lab', targetHost: h1.id, priority: 1 });
    expect(urgent.status).toBe(202);
    created.push(urgent.body.id);

    // The scheduler plans a live migration of the spot VM (origin preemption) instead of stopping it.
    const mig = await (async () => {
      for (const end = Date.now() + 30_000; Date.now() < end; await sleep(300)) {
        const r = await p.api('GET', `/v1/migrations?vm=${spot}`);
        const items = r.body.items ?? r.body;
        if (items.length) return items[0];
      }
      throw new Error('no migration of the preempted VM was planned');
    })();
    expect(mig).toMatchObject({ vmId: spot, origin: 'preemption', sourceHostId: h1.id, targetHostId: h2.id, mode: 'live', storage: 'shared' });
    const lastOnSource = await g.lastSourceCounter(src, spot, mig.id);
    const m = await g.waitMigration(mig.id, finished);
    expect({ state: m.state, error: m.error }).toEqual({ state: 'completed', error: null });

    // The spot VM runs on h2 only and counts on without a gap; the urgent VM runs on h1.
    const moved = await p.waitForVm(spot, (v) => v.status === 'running' && v.host?.id === h2.id, 30_000);
    expect(moved.scheduling).toBeNull();
    expect(await g.domState(dst, spot)).toBe('running');
    expect(await g.domState(src, spot)).toBe('absent');
    await g.countsOnFrom(dst, spot, lastOnSource);
    const u = await p.waitForVm(urgent.body.id, (v) => v.status === 'running' || v.status === 'failed', 120_000);
    expect({ status: u.status, host: u.host?.id }).toEqual({ status: 'running', host: h1.id });
    expect(await g.domState(src, urgent.body.id)).toBe('running');
  });
});
