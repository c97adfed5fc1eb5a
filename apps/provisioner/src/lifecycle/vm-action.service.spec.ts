import { randomUUID } from 'crypto';
import { makeEvent, Subjects, VmAction, VmState } from '@minicloud/contracts';
import type { Bus } from '@minicloud/messaging';
import { HypervisorError } from '@minicloud/hypervisor';
import { SshUnreachableError } from '@minicloud/ssh';
import type { HostEntity, VmEntity } from '../persistence/entities';
import type { ProvisionerRepository } from '../persistence/repositories';
import { FakeDriver } from '../test-utils/fakes';
import { MemRepo } from '../test-utils/mem-repo';
import { VmLocks } from '../vms/vm-locks';
import { VmTransitions } from '../vms/vm-transitions';
import { VmActionService } from './vm-action.service';

const HOST = randomUUID();

function setup(state: VmState = 'running') {
  const repo = new MemRepo();
  repo.hosts.set(HOST, { id: HOST, name: 'lab-h1', address: '10.254.7.11', sshPort: 22, sshUser: 'root', hostKey: 'k' } as HostEntity);
  const vmId = randomUUID();
  repo.vms.set(vmId, { id: vmId, name: 'web-1', hostId: HOST, imageId: randomUUID(), state, generation: 3, domainName: `mc-${vmId}`, lastError: null } as VmEntity);
  const published: { subject: string; body: Record<string, unknown> }[] = [];
  const bus = { publish: async (subject: string, body: Record<string, unknown>) => void published.push({ subject, body }) } as unknown as Bus;
  const driver = new FakeDriver();
  if (state === 'running') driver.domains.set(vmId, 'running');
  if (state === 'stopped') driver.domains.set(vmId, 'shutoff');
  if (state === 'suspended') driver.domains.set(vmId, 'paused');
  const r = repo as unknown as ProvisionerRepository;
  const svc = new VmActionService(r, bus, () => driver, new VmLocks(), new VmTransitions(r, bus), {
    retry: { sleep: async () => undefined },
    sleep: async () => undefined,
    pollMs: 1,
    rebootTimeoutSec: () => 5,
  });
  const act = (action: VmAction, over: { operationId?: string; stopTimeoutSec?: number } = {}) =>
    svc.handle(makeEvent(Subjects.VmActionRequested, { operationId: over.operationId ?? randomUUID(), vmId, action, ...(over.stopTimeoutSec ? { stopTimeoutSec: over.stopTimeoutSec } : {}) }));
  const states = () => published.filter((p) => p.subject === Subjects.VmStateChanged).map((p) => `${p.body.state}@${p.body.generation}`);
  const finished = () => published.filter((p) => p.subject === Subjects.VmOperationFinished).map((p) => p.body);
  return { repo, vmId, driver, published, act, states, finished };
}

describe('VmActionService', () => {
  it('stops gracefully: stopping then stopped with increasing generations, then operation-finished', async () => {
    const t = setup('running');
    await t.act('stop');
    expect(t.states()).toEqual(['stopping@4', 'stopped@5']);
    expect(t.driver.domains.get(t.vmId)).toBe('shutoff');
    expect(t.driver.calls).toContain(`stopVm ${t.vmId}`);
    expect(t.driver.calls).not.toContain(`destroyVm ${t.vmId}`);
    expect(t.finished()).toEqual([expect.objectContaining({ vmId: t.vmId, action: 'stop', status: 'succeeded', state: 'stopped' })]);
    expect(t.repo.vms.get(t.vmId)).toMatchObject({ state: 'stopped', generation: 5 });
  });

  it('forces a guest off that ignores the shutdown request within stopTimeoutSec, and says so', async () => {
    const t = setup('running');
    t.driver.deafGuest = true;
    await t.act('stop', { stopTimeoutSec: 1 });
    expect(t.driver.calls.filter((c) => /stopVm|destroyVm/.test(c))).toEqual([`stopVm ${t.vmId}`, `destroyVm ${t.vmId}`]);
    const stopped = t.published.find((p) => p.body.state === 'stopped');
    expect(stopped?.body.reason).toMatch(/did not shut down within 1 s: it was forced off/);
    expect(t.finished()[0]).toMatchObject({ status: 'succeeded', state: 'stopped' });
  });

  it('runs start, reboot, suspend, resume and force-stop, each ending in the expected state', async () => {
    const t = setup('stopped');
    await t.act('start');
    await t.act('reboot');
    await t.act('suspend');
    expect(t.driver.domains.get(t.vmId)).toBe('paused');
    await t.act('resume');
    await t.act('force-stop');
    expect(t.states()).toEqual(['running@4', 'running@5', 'suspended@6', 'running@7', 'stopped@8']);
    expect(t.finished().map((f) => `${f.action}:${f.status}:${f.state}`)).toEqual([
      'start:succeeded:running', 'reboot:succeeded:running', 'suspend:succeeded:suspended', 'resume:succeeded:running', 'force-stop:succeeded:stopped',
    ]);
  });

  it('deletes: deleting, deleted, then vm.deleted with the next generation; the domain is gone', async () => {
    const t = setup('running');
    await t.act('delete');
    expect(t.states()).toEqual(['deleting@4', 'deleted@5']);
    expect(t.published.filter((p) => p.subject === Subjects.VmDeleted).map((p) => p.body)).toEqual([{ vmId: t.vmId, hostId: HOST, generation: 6 }]);
    expect(t.driver.domains.has(t.vmId)).toBe(false);
    expect(t.finished()[0]).toMatchObject({ status: 'succeeded', state: 'deleted' });
    expect(t.driver.calls).toContain(`deleteVm ${t.vmId}`); // a local VM: nothing on the shared datastore is touched
  });

  it('deleting a VM on the shared datastore removes its shared disk too', async () => {
    const t = setup('running');
    Object.assign(t.repo.vms.get(t.vmId)!, { storage: 'shared' });
    await t.act('delete');
    expect(t.states()).toEqual(['deleting@4', 'deleted@5']);
    expect(t.driver.calls).toContain(`deleteVm ${t.vmId} +shared-disk`);
  });

  it('refuses an action the VM state no longer allows, naming the state, without touching the host', async () => {
    const t = setup('stopped');
    await t.act('suspend');
    expect(t.states()).toEqual([]);
    expect(t.driver.calls).toEqual([]);
    expect(t.finished()).toEqual([expect.objectContaining({ status: 'failed', state: 'stopped', error: expect.stringContaining('VM that is stopped') })]);
  });

  it('is idempotent by operationId: a redelivered finished operation is only re-announced', async () => {
    const t = setup('running');
    const operationId = randomUUID();
    await t.act('force-stop', { operationId });
    await t.act('force-stop', { operationId });
    expect(t.states()).toEqual(['stopped@4']);
    expect(t.driver.calls.filter((c) => c.startsWith('destroyVm'))).toHaveLength(1);
    expect(t.finished()).toHaveLength(2);
    expect(t.finished()[1]).toEqual(t.finished()[0]);
  });

  it('retries transient host errors (SSH drop, libvirt busy) with backoff, then succeeds', async () => {
    const t = setup('running');
    t.driver.failNext.suspendVm = [
      new SshUnreachableError('connection lost'),
      new HypervisorError('virsh suspend', 1, 'error: Timed out during operation: cannot acquire state change lock'),
    ];
    await t.act('suspend');
    expect(t.finished()[0]).toMatchObject({ status: 'succeeded', state: 'suspended' });
    expect(t.driver.calls.filter((c) => c.startsWith('suspendVm'))).toHaveLength(3);
  });

  it('on a permanent failure reports it and shows the VM as its domain really is', async () => {
    const t = setup('running');
    t.driver.failNext.stopVm = [new HypervisorError('virsh shutdown', 1, 'error: internal error: guest agent broke')];
    await t.act('stop');
    expect(t.states()).toEqual(['stopping@4', 'running@5']);
    expect(t.finished()[0]).toMatchObject({ status: 'failed', state: 'running', error: expect.stringContaining('guest agent broke') });
    const d = setup('running');
    d.driver.failNext.deleteVm = [new HypervisorError('virsh undefine', 1, 'error: something broke')];
    await d.act('delete');
    expect(d.states()).toEqual(['deleting@4', 'failed@5']);
    expect(d.finished()[0]).toMatchObject({ status: 'failed', state: 'failed' });
  });

  it('fails actions on VMs it never built, but deletes one (leaving a tombstone, releasing the claim)', async () => {
    const t = setup('running');
    await t.repo.vms.delete(t.vmId);
    await t.act('start');
    expect(t.finished()[0]).toMatchObject({ status: 'failed', error: expect.stringMatching(/not known to the provisioner/) });
    await t.act('delete');
    expect(t.states()).toEqual(['deleting@2', 'deleted@3']);
    expect(t.published.filter((p) => p.subject === Subjects.VmDeleted).map((p) => p.body)).toEqual([{ vmId: t.vmId, generation: 4 }]);
    expect(t.finished()[1]).toMatchObject({ action: 'delete', status: 'succeeded', state: 'deleted' });
    expect(await t.repo.deletedBeforeBuild(t.vmId)).toBe(true);
    expect(t.driver.calls).toEqual([]);
  });
});
