import { randomUUID } from 'crypto';
import { Subjects } from '@minicloud/contracts';
import type { Bus } from '@minicloud/messaging';
import { RpcError } from '@minicloud/messaging';
import type { HostEntity, VmEntity } from '../persistence/entities';
import type { ProvisionerRepository } from '../persistence/repositories';
import { MemRepo } from '../test-utils/mem-repo';
import { HostAdminService } from './host-admin.service';

function setup() {
  const repo = new MemRepo();
  const hostId = randomUUID();
  repo.hosts.set(hostId, { id: hostId, name: 'lab-h1', address: '10.254.7.11', state: 'up', stateReason: 'registered', adminState: 'enabled', facts: {}, createdAt: new Date() } as unknown as HostEntity);
  const published: { subject: string; body: Record<string, unknown> }[] = [];
  const bus = { publish: async (subject: string, body: Record<string, unknown>) => void published.push({ subject, body }) } as unknown as Bus;
  return { repo, hostId, published, svc: new HostAdminService(repo as unknown as ProvisionerRepository, bus) };
}

describe('HostAdminService', () => {
  it('disables and enables a host, storing the admin state and publishing host.state-changed with the reason', async () => {
    const t = setup();
    const v = await t.svc.setAdminState({ hostId: t.hostId, adminState: 'disabled', reason: 'hardware check' });
    expect(v.state).toBe('disabled');
    expect(t.repo.hosts.get(t.hostId)).toMatchObject({ adminState: 'disabled', state: 'disabled', stateReason: 'hardware check' });
    await t.svc.setAdminState({ hostId: t.hostId, adminState: 'enabled' });
    expect(t.published.map((p) => [p.subject, p.body.state, p.body.previousState, p.body.reason])).toEqual([
      [Subjects.HostStateChanged, 'disabled', 'up', 'hardware check'],
      [Subjects.HostStateChanged, 'up', 'disabled', 'enabled by an administrator'],
    ]);
    await expect(t.svc.setAdminState({ hostId: randomUUID(), adminState: 'enabled' })).rejects.toMatchObject({ status: 404 });
  });

  it('refuses to remove a host with VMs (409 listing them), removes an empty one and publishes host.removed', async () => {
    const t = setup();
    const a = randomUUID();
    const b = randomUUID();
    t.repo.vms.set(a, { id: a, hostId: t.hostId, state: 'running' } as VmEntity);
    t.repo.vms.set(b, { id: b, hostId: t.hostId, state: 'failed' } as VmEntity);
    const gone = randomUUID();
    t.repo.vms.set(gone, { id: gone, hostId: t.hostId, state: 'deleted' } as VmEntity);
    const err = (await t.svc.remove({ hostId: t.hostId }).catch((e) => e)) as RpcError;
    expect(err).toBeInstanceOf(RpcError);
    expect(err.status).toBe(409);
    expect(err.message).toContain(a);
    expect(err.message).toContain(b);
    expect(err.message).not.toContain(gone);
    expect(t.repo.hosts.has(t.hostId)).toBe(true);

    t.repo.vms.get(a)!.state = 'deleted';
    t.repo.vms.get(b)!.state = 'deleted';
    expect(await t.svc.remove({ hostId: t.hostId })).toEqual({ removed: true });
    expect(t.repo.hosts.has(t.hostId)).toBe(false);
    expect(t.published).toEqual([{ subject: Subjects.HostRemoved, body: { hostId: t.hostId } }]);
    await expect(t.svc.remove({ hostId: t.hostId })).rejects.toMatchObject({ status: 404 });
  });
});
