import { randomUUID } from 'crypto';
import { makeEvent, Subjects, VmState } from '@minicloud/contracts';
import { Bus, PermanentError } from '@minicloud/messaging';
import { SshUnreachableError } from '@minicloud/ssh';
import type { HostEntity, VmEntity } from '../persistence/entities';
import type { ProvisionerRepository } from '../persistence/repositories';
import { FakeDriver } from '../test-utils/fakes';
import { MemRepo } from '../test-utils/mem-repo';
import { VmLocks } from '../vms/vm-locks';
import { VmTransitions } from '../vms/vm-transitions';
import { VmPreemptService } from './vm-preempt.service';

const H1 = randomUUID();
const H2 = randomUUID();

function setup(state: VmState = 'running') {
  const repo = new MemRepo();
  repo.hosts.set(H1, { id: H1, name: 'lab-h1', address: '10.254.7.11' } as HostEntity);
  repo.hosts.set(H2, { id: H2, name: 'lab-h2', address: '10.254.7.12' } as HostEntity);
  const vmId = randomUUID();
  repo.vms.set(vmId, { id: vmId, name: 'batch-1', hostId: H1, state, generation: 6, domainName: `mc-${vmId}`, lastError: null } as VmEntity);
  const published: Record<string, unknown>[] = [];
  const bus = { publish: async (s: string, body: Record<string, unknown>) => void (s === Subjects.VmStateChanged && published.push(body)) } as unknown as Bus;
  const driver = new FakeDriver();
  driver.domains.set(vmId, state === 'suspended' ? 'paused' : state === 'stopped' ? 'shutoff' : 'running');
  driver.deafGuest = true; // preemption does not wait for the guest
  const r = repo as unknown as ProvisionerRepository;
  const svc = new VmPreemptService(r, () => driver, new VmLocks(), new VmTransitions(r, bus), { sleep: async () => undefined });
  const by = randomUUID();
  const event = (over: object = {}) => makeEvent(Subjects.VmPreemptRequested, { vmId, hostId: H1, action: 'stop', preemptedByVmId: by, reason: 'priority 1 request needs 2 vCPUs on lab-h1', ...over });
  return { repo, vmId, driver, svc, published, by, event };
}

describe('VmPreemptService', () => {
  it('stop: forces the VM off and shows it stopped, saying who preempted it', async () => {
    const t = setup('running');
    await t.svc.handle(t.event());
    expect(t.driver.calls).toContain(`destroyVm ${t.vmId}`);
    expect(t.driver.domains.get(t.vmId)).toBe('shutoff');
    expect(t.published).toEqual([
      expect.objectContaining({ vmId: t.vmId, state: 'stopped', previousState: 'running', hostId: H1, generation: 7, reason: `preempted by VM ${t.by}: priority 1 request needs 2 vCPUs on lab-h1` }),
    ]);
  });

  it('migrate with a planned migration: leaves the VM running (the migrator moves it)', async () => {
    const t = setup('running');
    const e = t.event({ action: 'migrate', targetHostId: H2, migrationId: randomUUID() });
    await t.svc.handle(e);
    expect(t.driver.calls.filter((c) => c.startsWith('destroyVm'))).toEqual([]);
    expect(t.driver.domains.get(t.vmId)).toBe('running');
    expect(t.repo.vms.get(t.vmId)).toMatchObject({ state: 'running', generation: 6 });
    expect(t.published).toEqual([]);
    // The scheduler's fallback when the migration fails: a stop, which is carried out.
    await t.svc.handle(t.event({ reason: 'preempted VM could not be moved to lab-h2: migration m failed; stopped instead' }));
    expect(t.repo.vms.get(t.vmId)).toMatchObject({ state: 'stopped', generation: 7 });
  });

  it('migrate without a migration: stopped, and the reason says so', async () => {
    const t = setup('suspended');
    await t.svc.handle(t.event({ action: 'migrate', targetHostId: H2, preemptedByVmId: undefined, reservationId: randomUUID() }));
    expect(t.repo.vms.get(t.vmId)).toMatchObject({ state: 'stopped', generation: 7 });
    expect(t.published[0].reason).toMatch(/^preempted by reservation [0-9a-f-]+: .*; asked to move it to lab-h2, but no migration was planned for it: it was stopped instead$/);
  });

  it('is idempotent and leaves a VM at rest alone', async () => {
    const t = setup('running');
    const e = t.event();
    await t.svc.handle(e);
    await t.svc.handle(e);
    expect(t.published).toHaveLength(1);
    await t.svc.handle(t.event()); // another request for the now stopped VM
    expect(t.published).toHaveLength(1);
    expect(t.driver.calls.filter((c) => c.startsWith('destroyVm'))).toHaveLength(1);
  });

  it('retries while the host is away or the VM is in flight; dead-letters an unknown VM', async () => {
    const t = setup('running');
    t.driver.failNext.destroyVm = Array.from({ length: 4 }, () => new SshUnreachableError('10.254.7.11 is unreachable'));
    await expect(t.svc.handle(t.event())).rejects.toThrow(/unreachable/);
    expect(t.published).toEqual([]);
    const m = setup('migrating');
    await expect(m.svc.handle(m.event())).rejects.toThrow(/is migrating: preemption waits until it settles/);
    await expect(t.svc.handle(t.event({ vmId: randomUUID() }))).rejects.toThrow(PermanentError);
  });
});
