import { randomUUID } from 'crypto';
import { makeEvent, Subjects } from '@minicloud/contracts';
import { Bus, PermanentError } from '@minicloud/messaging';
import { SshUnreachableError } from '@minicloud/ssh';
import type { HostEntity, VmEntity } from '../persistence/entities';
import type { ProvisionerRepository } from '../persistence/repositories';
import { FakeDriver } from '../test-utils/fakes';
import { MemRepo } from '../test-utils/mem-repo';
import { VmLocks } from '../vms/vm-locks';
import { VmTransitions } from '../vms/vm-transitions';
import { MigrationStateService } from './migration-state.service';

const H1 = randomUUID();
const H2 = randomUUID();

function setup(state: VmEntity['state'] = 'running') {
  const repo = new MemRepo();
  repo.hosts.set(H1, { id: H1, name: 'lab-h1', address: '10.254.7.11' } as HostEntity);
  repo.hosts.set(H2, { id: H2, name: 'lab-h2', address: '10.254.7.12' } as HostEntity);
  const vmId = randomUUID();
  repo.vms.set(vmId, { id: vmId, name: 'web-1', hostId: H1, imageId: randomUUID(), state, generation: 3, domainName: `mc-${vmId}`, lastError: null, migrationTargetHostId: H2 } as VmEntity);
  const published: Record<string, unknown>[] = [];
  const bus = { publish: async (s: string, body: Record<string, unknown>) => void (s === Subjects.VmStateChanged && published.push(body)) } as unknown as Bus;
  const drivers = { [H1]: new FakeDriver(), [H2]: new FakeDriver() };
  drivers[H1].domains.set(vmId, state === 'stopped' ? 'shutoff' : 'running');
  const r = repo as unknown as ProvisionerRepository;
  const svc = new MigrationStateService(r, (h) => drivers[(h as HostEntity).id], new VmLocks(), new VmTransitions(r, bus));
  const migrationId = randomUUID();
  const started = (over: object = {}) =>
    makeEvent(Subjects.MigrationStarted, { migrationId, vmId, sourceHostId: H1, targetHostId: H2, mode: 'live', strategy: 'precopy', strategyReason: 'converges', ...over });
  const completed = () => makeEvent(Subjects.MigrationCompleted, { migrationId, vmId, sourceHostId: H1, targetHostId: H2, totalTimeMs: 1200 });
  const failed = (over: object = {}) => makeEvent(Subjects.MigrationFailed, { migrationId, vmId, sourceHostId: H1, targetHostId: H2, vmHostId: H1, reason: 'virsh migrate: connection reset', ...over });
  const states = () => published.map((p) => `${p.state}@${p.generation}`);
  return { repo, vmId, drivers, svc, migrationId, started, completed, failed, published, states, vm: () => repo.vms.get(vmId)! };
}

describe('MigrationStateService', () => {
  it('started → migrating on the source; completed → running on the target, each with the next generation', async () => {
    const t = setup();
    await t.svc.started(t.started());
    expect(t.published).toEqual([
      expect.objectContaining({ vmId: t.vmId, state: 'migrating', previousState: 'running', hostId: H1, generation: 4, reason: `live migration ${t.migrationId} to lab-h2` }),
    ]);
    expect(t.vm()).toMatchObject({ state: 'migrating', hostId: H1, migrationId: t.migrationId, preMigrationState: 'running' });

    await t.svc.completed(t.completed());
    expect(t.published[1]).toEqual(
      expect.objectContaining({ state: 'running', previousState: 'migrating', hostId: H2, generation: 5, reason: `migrated from lab-h1 to lab-h2 (migration ${t.migrationId})` }),
    );
    expect(t.vm()).toMatchObject({ state: 'running', hostId: H2, generation: 5, migrationId: null, migrationTargetHostId: null, preMigrationState: null });
  });

  it('is idempotent: a redelivered event changes nothing more (and re-announces the state it made)', async () => {
    const t = setup();
    const s = t.started();
    await t.svc.started(s);
    await t.svc.started(s);
    await t.svc.started(t.started()); // the same migration again under another event id
    expect(t.states()).toEqual(['migrating@4', 'migrating@4']);
    const c = t.completed();
    await t.svc.completed(c);
    await t.svc.completed(c);
    await t.svc.completed(t.completed());
    expect(t.states()).toEqual(['migrating@4', 'migrating@4', 'running@5', 'running@5']);
    expect(t.vm()).toMatchObject({ state: 'running', hostId: H2, generation: 5 });
  });

  it('failed → back on vmHostId in the state its domain shows there (the host is asked)', async () => {
    const t = setup();
    await t.svc.started(t.started());
    await t.svc.failed(t.failed());
    expect(t.published[1]).toEqual(
      expect.objectContaining({
        state: 'running', previousState: 'migrating', hostId: H1, generation: 5,
        reason: `migration ${t.migrationId} failed: virsh migrate: connection reset; the VM is on lab-h1`,
      }),
    );
    expect(t.vm()).toMatchObject({ state: 'running', hostId: H1, migrationId: null, migrationTargetHostId: null });

    // A cancelled move of a stopped VM: stopped again.
    const s = setup('stopped');
    await s.svc.started(s.started({ mode: 'cold' }));
    expect(s.published[0]).toMatchObject({ state: 'migrating', previousState: 'stopped', reason: `cold migration ${s.migrationId} to lab-h2` });
    await s.svc.failed(s.failed({ cancelled: true, reason: 'cancelled by a user' }));
    expect(s.published[1]).toMatchObject({ state: 'stopped', generation: 5, reason: `migration ${s.migrationId} was cancelled: cancelled by a user; the VM is on lab-h1` });
  });

  it('failed with the VM ending up on the target, with the source unreachable, or with no domain anywhere', async () => {
    const t = setup();
    await t.svc.started(t.started());
    t.drivers[H2].domains.set(t.vmId, 'running');
    await t.svc.failed(t.failed({ vmHostId: H2, reason: 'the source lost the job after the switch-over' }));
    expect(t.vm()).toMatchObject({ state: 'running', hostId: H2 });
    expect(t.published[1]).toMatchObject({ hostId: H2, state: 'running' });

    const u = setup();
    await u.svc.started(u.started());
    u.drivers[H1].failNext.domainState = [new SshUnreachableError('10.254.7.11 is unreachable')];
    await u.svc.failed(u.failed());
    expect(u.vm()).toMatchObject({ state: 'running', hostId: H1 }); // what it was before

    const g = setup();
    await g.svc.started(g.started());
    g.drivers[H1].domains.delete(g.vmId);
    await g.svc.failed(g.failed());
    expect(g.vm()).toMatchObject({ state: 'failed', hostId: H1 });
    expect(g.published[1].reason).toBe(`migration ${g.migrationId} failed: virsh migrate: connection reset; the VM is on lab-h1, its domain mc-${g.vmId} is not on lab-h1`);
  });

  it('copes with the events out of order: an end before its start, then the late start changes nothing', async () => {
    const t = setup();
    await t.svc.completed(t.completed());
    expect(t.vm()).toMatchObject({ state: 'running', hostId: H2, generation: 4 });
    await t.svc.started(t.started());
    expect(t.vm()).toMatchObject({ state: 'running', hostId: H2, generation: 4 });
    expect(t.states()).toEqual(['running@4']);

    // Refused before it started (no migrating ever shown): nothing published, the prepared target forgotten.
    const f = setup();
    await f.svc.failed(f.failed({ reason: 'no capacity on the target' }));
    await f.svc.started(f.started());
    expect(f.published).toEqual([]);
    expect(f.vm()).toMatchObject({ state: 'running', hostId: H1, generation: 3, migrationTargetHostId: null });
  });

  it('dead-letters events for an unknown VM or that contradict its record', async () => {
    const t = setup();
    const unknown = makeEvent(Subjects.MigrationStarted, { migrationId: randomUUID(), vmId: randomUUID(), sourceHostId: H1, targetHostId: H2, mode: 'live', strategy: 'precopy', strategyReason: 'x' });
    await expect(t.svc.started(unknown)).rejects.toThrow(PermanentError);
    await expect(t.svc.completed(makeEvent(Subjects.MigrationCompleted, { migrationId: randomUUID(), vmId: randomUUID(), sourceHostId: H1, targetHostId: H2, totalTimeMs: 1 }))).rejects.toThrow(/not known to the provisioner/);
    await expect(t.svc.started(t.started({ sourceHostId: H2, targetHostId: H1 }))).rejects.toThrow(/is on host .* not on the migration's source/);
    const d = setup('deleting');
    await expect(d.svc.started(d.started())).rejects.toThrow(/is deleting: it cannot be migrating/);
    expect(t.published).toEqual([]);
  });
});
