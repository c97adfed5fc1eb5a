import { randomUUID } from 'crypto';
import { makeEvent, Subjects, VmScheduledEvent, VmStateChangedEvent } from '@minicloud/contracts';
import type { Bus } from '@minicloud/messaging';
import { HypervisorError } from '@minicloud/hypervisor';
import { SshUnreachableError } from '@minicloud/ssh';
import type { HostEntity, ImageEntity, VmEntity } from '../persistence/entities';
import type { ProvisionerRepository } from '../persistence/repositories';
import { FakeDriver } from '../test-utils/fakes';
import { RetryLaterError, VmProvisioningService } from './vm-provisioning.service';

const HOST = randomUUID();
const IMAGE = randomUUID();
const SUM = 'a'.repeat(64);

/** The repository's contract, in memory (transactions are trivially atomic here). */
class MemRepo {
  hosts = new Map<string, HostEntity>();
  images = new Map<string, ImageEntity>();
  vms = new Map<string, VmEntity>();
  inbox = new Set<string>();
  cached = new Map<string, Set<string>>();
  async transaction<T>(fn: (m: unknown) => Promise<T>) {
    return fn(undefined);
  }
  async findHost(id: string) {
    return this.hosts.get(id) ?? null;
  }
  async findImage(id: string) {
    return this.images.get(id) ?? null;
  }
  async findVm(id: string) {
    const v = this.vms.get(id);
    return v ? { ...v } : null;
  }
  async saveVm(v: VmEntity) {
    this.vms.set(v.id, { ...v });
    return v;
  }
  async cachedChecksums(hostId: string) {
    return this.cached.get(hostId) ?? new Set<string>();
  }
  async recordHostImages(hostId: string, files: { checksum: string }[]) {
    const s = this.cached.get(hostId) ?? new Set<string>();
    files.forEach((f) => s.add(f.checksum));
    this.cached.set(hostId, s);
  }
  deletedBefore = new Set<string>();
  async deletedBeforeBuild(vmId: string) {
    return this.deletedBefore.has(vmId);
  }
  async inboxHas(c: string, id: string) {
    return this.inbox.has(`${c}/${id}`);
  }
  async recordInbox(c: string, id: string) {
    const k = `${c}/${id}`;
    const first = !this.inbox.has(k);
    this.inbox.add(k);
    return first;
  }
}

function setup() {
  const repo = new MemRepo();
  repo.hosts.set(HOST, { id: HOST, name: 'lab-h1', address: '10.254.7.11', sshPort: 22, sshUser: 'root', hostKey: 'ssh-ed25519 AAAA' } as HostEntity);
  repo.images.set(IMAGE, {
    id: IMAGE, name: 'minicloud-lab', path: '/img.qcow2', format: 'qcow2', checksum: SUM, sizeBytes: 1, virtualSizeBytes: 64 << 20, arch: 'x86_64',
    kernelPath: null, kernelChecksum: null, initrdPath: null, initrdChecksum: null, cmdline: null,
  } as ImageEntity);
  const published: VmStateChangedEvent[] = [];
  const bus = { publish: async (s: string, body: VmStateChangedEvent) => void (s === Subjects.VmStateChanged && published.push(body)) } as unknown as Bus;
  const driver = new FakeDriver();
  const svc = new VmProvisioningService(repo as unknown as ProvisionerRepository, bus, () => driver);
  return { repo, published, driver, svc };
}

const scheduled = (over: Partial<VmScheduledEvent> = {}) =>
  makeEvent(Subjects.VmScheduled, {
    vmId: randomUUID(),
    name: 'web-1',
    hostId: HOST,
    resources: { vcpus: 1, memoryMiB: 256, diskGiB: 1 },
    image: { id: IMAGE, name: 'minicloud-lab', checksum: SUM },
    reason: 'round-robin',
    attempt: 1,
    ...over,
  });

const states = (p: VmStateChangedEvent[]) => p.map((e) => `${e.state}@${e.generation}`);

describe('VmProvisioningService', () => {
  it('publishes provisioning (gen 2) then running (gen 3) with the host', async () => {
    const { svc, published, driver, repo } = setup();
    const e = scheduled();
    await svc.handleScheduled(e, { deliveryCount: 1 });
    expect(states(published)).toEqual(['provisioning@2', 'running@3']);
    expect(published[1]).toMatchObject({ vmId: e.vmId, hostId: HOST, previousState: 'provisioning' });
    expect(driver.domains.get(e.vmId)).toBe('running');
    expect(repo.vms.get(e.vmId)).toMatchObject({ state: 'running', generation: 3, domainName: `mc-${e.vmId}` });
    expect(repo.cached.get(HOST)).toEqual(new Set([SUM]));
    expect(repo.vms.get(e.vmId)?.storage).toBe('local');
    expect(driver.specs[0].storage).toBe('local');
  });

  it('builds a VM with storage shared on the shared datastore and remembers where its disk is', async () => {
    const { svc, published, driver, repo } = setup();
    const e = scheduled({ storage: 'shared' });
    await svc.handleScheduled(e, { deliveryCount: 1 });
    expect(states(published)).toEqual(['provisioning@2', 'running@3']);
    expect(driver.specs[0]).toMatchObject({ vmId: e.vmId, storage: 'shared' });
    expect(repo.vms.get(e.vmId)).toMatchObject({ state: 'running', storage: 'shared' });
  });

  it('does nothing to a running VM on redelivery, only re-announces running at the same generation', async () => {
    const { svc, published, driver } = setup();
    const e = scheduled();
    await svc.handleScheduled(e, { deliveryCount: 1 });
    driver.calls = [];
    await svc.handleScheduled(e, { deliveryCount: 2 });
    expect(driver.calls).toEqual([]);
    expect(states(published)).toEqual(['provisioning@2', 'running@3', 'running@3']);
  });

  it('retries a transient failure by redelivery, then succeeds without re-announcing provisioning', async () => {
    const { svc, published, driver } = setup();
    driver.failNext.ensureImage = [1, 2, 3].map(() => new SshUnreachableError('root@10.254.7.11:22 is unreachable: ECONNREFUSED'));
    const e = scheduled();
    await expect(svc.handleScheduled(e, { deliveryCount: 1 })).rejects.toBeInstanceOf(RetryLaterError);
    expect(states(published)).toEqual(['provisioning@2']);
    await svc.handleScheduled(e, { deliveryCount: 2 });
    expect(states(published)).toEqual(['provisioning@2', 'running@3']);
  }, 20000);

  it('marks the VM failed with the host and reason once deliveries run out', async () => {
    const { svc, published, driver } = setup();
    driver.failNext.ensureImage = [1, 2, 3].map(() => new SshUnreachableError('ECONNREFUSED'));
    await svc.handleScheduled(scheduled(), { deliveryCount: 3 });
    expect(states(published)).toEqual(['provisioning@2', 'failed@3']);
    expect(published[1].reason).toMatch(/^host lab-h1 \(10\.254\.7\.11\) is unreachable over SSH: ECONNREFUSED/);
  }, 20000);

  it('fails at once with libvirt\'s text for a permanent error, and ignores that event afterwards', async () => {
    const { svc, published, driver } = setup();
    driver.failNext.createVm = [new HypervisorError('virsh define', 1, 'error: unsupported configuration: bad thing')];
    const e = scheduled();
    await svc.handleScheduled(e, { deliveryCount: 1 });
    expect(published[1]).toMatchObject({ state: 'failed', generation: 3 });
    expect(published[1].reason).toContain('libvirt on lab-h1 (10.254.7.11): virsh define failed (exit 1): unsupported configuration: bad thing');
    driver.calls = [];
    await svc.handleScheduled(e, { deliveryCount: 2 });
    expect(driver.calls).toEqual([]);
    expect(states(published).slice(-1)).toEqual(['failed@3']);
  });

  it('hands a VM whose build failed on its host back to the scheduler while attempts remain, then fails on the last', async () => {
    const { svc, published, driver, repo } = setup();
    driver.failNext.createVm = [new HypervisorError('virsh define', 1, 'error: unsupported configuration: bad thing')];
    const e = scheduled({ attempt: 1, maxAttempts: 2 });
    await svc.handleScheduled(e, { deliveryCount: 1 });
    expect(states(published)).toEqual(['provisioning@2', 'requested@3']);
    expect(published[1]).toMatchObject({ previousState: 'provisioning', hostId: HOST });
    expect(published[1].reason).toMatch(/^attempt 1 of 2 failed on lab-h1: libvirt on lab-h1/);
    expect(repo.vms.get(e.vmId)).toMatchObject({ state: 'requested' });
    // The scheduler's next attempt (another host in real life) fails too: no attempt left, the VM is failed.
    driver.failNext.createVm = [new HypervisorError('virsh define', 1, 'error: unsupported configuration: bad thing')];
    await svc.handleScheduled(scheduled({ vmId: e.vmId, attempt: 2, maxAttempts: 2 }), { deliveryCount: 1 });
    expect(states(published).slice(2)).toEqual(['provisioning@4', 'failed@5']);
  });

  it('an unreachable host gives the VM back only after its redeliveries ran out', async () => {
    const { svc, published, driver } = setup();
    // Each delivery's builder retries 3 times: two deliveries, six failures.
    driver.failNext.ensureImage = [1, 2, 3, 4, 5, 6].map(() => new SshUnreachableError('ECONNREFUSED'));
    const e = scheduled({ attempt: 1, maxAttempts: 3 });
    await expect(svc.handleScheduled(e, { deliveryCount: 1 })).rejects.toBeInstanceOf(RetryLaterError);
    await svc.handleScheduled(e, { deliveryCount: 3 });
    expect(states(published)).toEqual(['provisioning@2', 'requested@3']);
  }, 20000);

  it('fails with a clear reason for an unknown image or host, touching no host', async () => {
    const { svc, published, driver } = setup();
    await svc.handleScheduled(scheduled({ image: { id: randomUUID(), name: 'nope', checksum: SUM } }), { deliveryCount: 1 });
    expect(published[1].reason).toMatch(/^unknown image nope \(.*\): it is not registered/);
    await svc.handleScheduled(scheduled({ hostId: randomUUID() }), { deliveryCount: 1 });
    expect(published[3].reason).toMatch(/^host .* is not registered with the provisioner/);
    expect(driver.calls).toEqual([]);
  });

  it('rebuilds a VM whose earlier attempt failed when a new scheduling arrives, with higher generations', async () => {
    const { svc, published, driver } = setup();
    driver.failNext.createVm = [new HypervisorError('virsh start', 1, 'error: boom')];
    const first = scheduled();
    await svc.handleScheduled(first, { deliveryCount: 1 });
    await svc.handleScheduled(scheduled({ vmId: first.vmId, attempt: 2 }), { deliveryCount: 1 });
    expect(states(published)).toEqual(['provisioning@2', 'failed@3', 'provisioning@4', 'running@5']);
    expect(driver.domains.get(first.vmId)).toBe('running');
  });
});

describe('VmProvisioningService: seed and deleted VMs', () => {
  it('builds a cloud-init seed from the event (SSH keys, hostname) and hands it to the driver', async () => {
    const { svc, driver } = setup();
    const seen: unknown[] = [];
    svc.seedBuilder = async (input) => {
      seen.push(input);
      return { isoPath: '/tmp/fake-seed.iso', cleanup: async () => void seen.push('cleaned') };
    };
    const e = scheduled({ sshKeys: ['ssh-ed25519 AAAA me'], userData: undefined });
    await svc.handleScheduled(e, { deliveryCount: 1 });
    expect(seen).toEqual([{ vmId: e.vmId, hostname: 'web-1', sshKeys: ['ssh-ed25519 AAAA me'], userData: undefined }, 'cleaned']);
    expect(driver.specs[0].seedIsoLocalPath).toBe('/tmp/fake-seed.iso');
  });

  it('never rebuilds a VM that was deleted meanwhile', async () => {
    const { svc, driver, repo, published } = setup();
    const e = scheduled();
    await svc.handleScheduled(e, { deliveryCount: 1 });
    repo.vms.get(e.vmId)!.state = 'deleted';
    driver.domains.delete(e.vmId);
    const n = published.length;
    await svc.handleScheduled({ ...e, eventId: randomUUID() }, { deliveryCount: 1 });
    expect(published.length).toBe(n);
    expect(driver.domains.has(e.vmId)).toBe(false);

    const early = scheduled();
    repo.deletedBefore.add(early.vmId); // deleted before its vm.scheduled arrived
    await svc.handleScheduled(early, { deliveryCount: 1 });
    expect(published.length).toBe(n);
    expect(driver.domains.has(early.vmId)).toBe(false);
    expect(repo.vms.has(early.vmId)).toBe(false);
  });
});
