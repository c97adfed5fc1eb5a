import { randomUUID } from 'crypto';
import { Subjects } from '@minicloud/contracts';
import type { Bus } from '@minicloud/messaging';
import { SshUnreachableError } from '@minicloud/ssh';
import type { HostEntity, VmEntity } from '../persistence/entities';
import type { ProvisionerRepository } from '../persistence/repositories';
import { FakeDriver } from '../test-utils/fakes';
import { MemRepo } from '../test-utils/mem-repo';
import { VmLocks } from '../vms/vm-locks';
import { VmTransitions } from '../vms/vm-transitions';
import { ReconcileService } from './reconcile.service';

function setup() {
  const repo = new MemRepo();
  const hostId = randomUUID();
  repo.hosts.set(hostId, { id: hostId, name: 'lab-h1', address: '10.254.7.11' } as HostEntity);
  const published: Record<string, unknown>[] = [];
  const bus = { publish: async (s: string, body: Record<string, unknown>) => void (s === Subjects.VmStateChanged && published.push(body)) } as unknown as Bus;
  const driver = new FakeDriver();
  const r = repo as unknown as ProvisionerRepository;
  const svc = new ReconcileService(r, () => driver, new VmLocks(), new VmTransitions(r, bus));
  const vm = (state: VmEntity['state']) => {
    const id = randomUUID();
    repo.vms.set(id, { id, hostId, state, generation: 5, domainName: `mc-${id}`, lastError: null } as VmEntity);
    return id;
  };
  return { repo, hostId, published, driver, svc, vm };
}

describe('ReconcileService', () => {
  it('applies the diff with the next generation, and stores unknown mc-* domains without touching them', async () => {
    const t = setup();
    const gone = t.vm('running');
    const off = t.vm('running');
    t.driver.domains.set(off, 'shutoff');
    const fine = t.vm('running');
    t.driver.domains.set(fine, 'running');
    const stray = randomUUID();
    t.driver.domains.set(stray, 'running');

    const r = await t.svc.reconcileHost(t.hostId);
    expect(r.applied).toBe(2);
    expect(t.published.map((p) => [p.vmId, p.state, p.generation, p.reason])).toEqual([
      [gone, 'failed', 6, `domain mc-${gone} disappeared from host lab-h1`],
      [off, 'stopped', 6, 'stopped outside minicloud'],
    ]);
    expect(t.repo.vms.get(gone)).toMatchObject({ state: 'failed', lastError: `domain mc-${gone} disappeared from host lab-h1` });
    expect(t.repo.unknown.get(t.hostId)?.map((u) => u.domainName)).toEqual([`mc-${stray}`]);
    expect(t.driver.domains.get(stray)).toBe('running');
    expect(t.driver.calls.filter((c) => /delete|destroy/.test(c))).toEqual([]);

    // A second round changes nothing more.
    expect((await t.svc.reconcileHost(t.hostId)).applied).toBe(0);
    expect(t.published).toHaveLength(2);
  });

  it('does not apply a change the VM has moved away from meanwhile', async () => {
    const t = setup();
    const id = t.vm('stopped');
    t.driver.domains.set(id, 'running');
    const list = t.driver.listDomainStates.bind(t.driver);
    t.driver.listDomainStates = async () => {
      const l = await list();
      t.repo.vms.get(id)!.state = 'running'; // an action finished right after the listing
      return l;
    };
    expect((await t.svc.reconcileHost(t.hostId)).applied).toBe(0);
    expect(t.published).toEqual([]);
  });

  it('skips a host it cannot reach, saying why', async () => {
    const t = setup();
    t.vm('running');
    t.driver.failNext.listDomainStates = [new SshUnreachableError('10.254.7.11 is unreachable')];
    const r = await t.svc.reconcileHost(t.hostId);
    expect(r.error).toMatch(/cannot list domains on lab-h1 \(10.254.7.11\): 10.254.7.11 is unreachable/);
    expect(t.published).toEqual([]);
  });
});

describe('ReconcileService and live migration', () => {
  function twoHosts() {
    const t = setup();
    const target = randomUUID();
    t.repo.hosts.set(target, { id: target, name: 'lab-h2', address: '10.254.7.12' } as HostEntity);
    const targetDriver = new FakeDriver();
    const r = t.repo as unknown as ProvisionerRepository;
    const bus = { publish: async (s: string, body: Record<string, unknown>) => void (s === Subjects.VmStateChanged && t.published.push(body)) } as unknown as Bus;
    const svc = new ReconcileService(r, (h) => ((h as HostEntity).id === target ? targetDriver : t.driver), new VmLocks(), new VmTransitions(r, bus));
    return { ...t, target, targetDriver, svc };
  }

  it('never fails a migrating VM whose domain left the source, nor reports its domain on the target as unknown', async () => {
    const t = twoHosts();
    const id = t.vm('migrating');
    t.repo.vms.get(id)!.migrationTargetHostId = t.target;
    t.targetDriver.domains.set(id, 'running'); // the domain moved; migration.completed not handled yet
    expect(await t.svc.reconcileHost(t.hostId)).toMatchObject({ changes: [], unknown: [], applied: 0 });
    expect(await t.svc.reconcileHost(t.target)).toMatchObject({ changes: [], unknown: [], applied: 0 });
    expect(t.published).toEqual([]);
    expect(t.repo.unknown.get(t.target)).toEqual([]);
  });

  it('a prepared migration whose start is not handled yet: the domain found on the target is neither failed nor unknown', async () => {
    const t = twoHosts();
    const id = t.vm('running');
    t.repo.vms.get(id)!.migrationTargetHostId = t.target;
    t.targetDriver.domains.set(id, 'running');
    expect((await t.svc.reconcileHost(t.target)).unknown).toEqual([]);
    expect((await t.svc.reconcileHost(t.hostId)).applied).toBe(0);
    expect(t.repo.vms.get(id)?.state).toBe('running');

    // Gone from both hosts: that VM did disappear.
    t.targetDriver.domains.delete(id);
    expect((await t.svc.reconcileHost(t.hostId)).applied).toBe(1);
    expect(t.published).toEqual([expect.objectContaining({ vmId: id, state: 'failed', reason: `domain mc-${id} disappeared from host lab-h1` })]);
  });
});
