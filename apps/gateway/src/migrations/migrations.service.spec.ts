import { BadRequestException, ConflictException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import type { Bus } from '@minicloud/messaging';
import type { HostRow, VmRow } from '../db/entities';
import type { MigrationRow } from '../db/migration.entities';
import type { GatewayRepository } from '../read-model/gateway.repository';
import type { MigrationsRepository } from './migrations.repository';
import { MigrationsService } from './migrations.service';

const VM_ID = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';
const HV1 = '11111111-1111-4111-8111-111111111111';
const HV2 = '22222222-2222-4222-8222-222222222222';

function setup(vm: Partial<VmRow> = {}, publishFails = false) {
  const rows = new Map<string, MigrationRow>();
  const published: { subject: string; body: Record<string, unknown> }[] = [];
  const theVm = { id: VM_ID, name: 'web-1', status: 'running', hostId: HV1, ...vm } as VmRow;
  const hosts = [{ id: HV1, name: 'hv1', state: 'up' }, { id: HV2, name: 'hv2', state: 'up' }] as HostRow[];
  const repo = {
    findVm: async (id: string) => (id === VM_ID ? theVm : null),
    lockVm: async (_m: unknown, id: string) => (id === VM_ID ? theVm : null),
    resolveHost: async (ref: string) => hosts.find((h) => h.id === ref || h.name === ref) ?? null,
    transaction: async <T>(work: (m: unknown) => Promise<T>) => work({}),
  };
  const migrations = {
    insert: async (r: MigrationRow) => void rows.set(r.id, r),
    removeUnpublished: async (id: string) => void rows.delete(id),
    findOpenForVm: async (vmId: string) => [...rows.values()].find((r) => r.vmId === vmId && ['requested', 'planned', 'running'].includes(r.state)) ?? null,
    find: async (id: string) => rows.get(id) ?? null,
  };
  const bus = {
    publish: async (subject: string, body: Record<string, unknown>) => {
      if (publishFails) throw new Error('TIMEOUT');
      published.push({ subject, body });
    },
  };
  const svc = new MigrationsService(migrations as unknown as MigrationsRepository, repo as unknown as GatewayRepository, bus as unknown as Bus);
  return { svc, rows, published };
}

describe('MigrationsService.request', () => {
  it('stores the migration as requested and publishes migration.requested from the VM\'s host, with the defaults', async () => {
    const { svc, rows, published } = setup();
    const v = await svc.request(VM_ID, { targetHost: 'hv2', maxDowntimeMs: 300 });
    expect(v).toMatchObject({ vmId: VM_ID, state: 'requested', origin: 'manual', mode: 'live', storage: 'copy', requestedStrategy: 'auto', sourceHostId: HV1, targetHostId: HV2, maxDowntimeMs: 300, bandwidthMiBs: null, reason: 'requested by a client', progress: null, result: null, stages: [] });
    expect(rows.get(v.id)?.state).toBe('requested');
    expect(published).toEqual([
      {
        subject: 'migration.requested',
        body: { migrationId: v.id, vmId: VM_ID, sourceHostId: HV1, targetHostId: HV2, mode: 'live', storage: 'copy', strategy: 'auto', maxDowntimeMs: 300, origin: 'manual', reason: 'requested by a client' },
      },
    ]);
  });

  it('lets the scheduler choose when no target is named', async () => {
    const { svc, published } = setup({ status: 'stopped', storage: 'shared' });
    await svc.request(VM_ID, { mode: 'cold', storage: 'shared', strategy: 'precopy', bandwidthMiBs: 50 });
    expect(published[0].body).not.toHaveProperty('targetHostId');
    expect(published[0].body).toMatchObject({ mode: 'cold', storage: 'shared', strategy: 'precopy', bandwidthMiBs: 50 });
  });

  it('moves a VM on the shared datastore with storage shared unless told otherwise, and refuses copy for it', async () => {
    const { svc, rows, published } = setup({ storage: 'shared' });
    const m = await svc.request(VM_ID, { targetHost: 'hv2' });
    expect(m.storage).toBe('shared');
    expect(published[0].body).toMatchObject({ storage: 'shared', targetHostId: HV2 });

    const other = setup({ storage: 'shared' });
    const copy = await other.svc.request(VM_ID, { storage: 'copy' }).catch((e) => e);
    expect(copy).toBeInstanceOf(ConflictException);
    expect(copy.getResponse().message).toMatch(/on the shared datastore: migrate it with storage "shared"/);
    expect(other.rows.size + other.published.length).toBe(0);
    expect(rows.size).toBe(1);
  });

  it('moves a local VM with storage copy by default and refuses shared for it', async () => {
    const { svc, published } = setup({ storage: 'local' });
    expect((await svc.request(VM_ID, {})).storage).toBe('copy');
    expect(published[0].body).toMatchObject({ storage: 'copy' });
    const other = setup({ storage: 'local' });
    const shared = await other.svc.request(VM_ID, { storage: 'shared' }).catch((e) => e);
    expect(shared).toBeInstanceOf(ConflictException);
    expect(shared.getResponse().message).toMatch(/host-local disk .*use "copy"/);
  });

  it('answers 404, 400 (targetHost) and 409 without storing or publishing', async () => {
    const { svc, rows, published } = setup();
    await expect(svc.request('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', {})).rejects.toBeInstanceOf(NotFoundException);
    const bad = await svc.request(VM_ID, { targetHost: 'nope' }).catch((e) => e);
    expect(bad).toBeInstanceOf(BadRequestException);
    expect(bad.getResponse()).toEqual({ statusCode: 400, error: 'Bad Request', message: 'targetHost: unknown host "nope"', errors: [{ field: 'targetHost', reason: 'unknown host "nope"' }] });
    const same = await svc.request(VM_ID, { targetHost: HV1 }).catch((e) => e);
    expect(same).toBeInstanceOf(ConflictException);
    expect(rows.size + published.length).toBe(0);
  });

  it('refuses a second migration while the first is unfinished, naming it', async () => {
    const { svc } = setup();
    const first = await svc.request(VM_ID, {});
    const err = await svc.request(VM_ID, {}).catch((e) => e);
    expect(err).toBeInstanceOf(ConflictException);
    expect(err.getResponse()).toMatchObject({ migrationId: first.id, message: expect.stringContaining(first.id) });
  });

  it('withdraws the migration and answers 503 when the bus does not take the request', async () => {
    const { svc, rows } = setup({}, true);
    await expect(svc.request(VM_ID, {})).rejects.toBeInstanceOf(ServiceUnavailableException);
    expect(rows.size).toBe(0);
  });
});

describe('MigrationsService.control', () => {
  it('publishes migration.control for an unfinished migration, 409 for a finished one, 404 for an unknown one', async () => {
    const { svc, rows, published } = setup();
    const m = await svc.request(VM_ID, {});
    expect((await svc.control(m.id, 'force-complete')).id).toBe(m.id);
    expect(published.at(-1)).toEqual({ subject: 'migration.control', body: { migrationId: m.id, action: 'force-complete' } });
    rows.get(m.id)!.state = 'completed';
    const err = await svc.control(m.id, 'cancel').catch((e) => e);
    expect(err).toBeInstanceOf(ConflictException);
    expect(err.getResponse()).toMatchObject({ state: 'completed' });
    await expect(svc.control('cccccccc-cccc-4ccc-8ccc-cccccccccccc', 'cancel')).rejects.toBeInstanceOf(NotFoundException);
  });
});
