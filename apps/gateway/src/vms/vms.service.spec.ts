import { BadRequestException, HttpException, ServiceUnavailableException } from '@nestjs/common';
import { RpcError } from '@minicloud/messaging';
import type { Bus } from '@minicloud/messaging';
import type { HostRow, ImageRow, VmRow } from '../db/entities';
import type { GatewayRepository } from '../read-model/gateway.repository';
import { VmsService } from './vms.service';
import type { OperationRow } from '../db/lifecycle.entities';
import type { FlavorsRepository } from '../flavors/flavors.repository';
import type { OperationsRepository } from '../operations/operations.repository';

const IMAGE: Partial<ImageRow> = { id: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', name: 'lab', checksum: 'c'.repeat(64) };
const HOST: Partial<HostRow> = { id: '11111111-1111-4111-8111-111111111111', name: 'hv1', address: '10.254.7.11' };

/** An in-memory stand-in for the repository: enough to observe what the service stores and withdraws. */
function fakeRepo() {
  const vms = new Map<string, VmRow>();
  const repo = {
    vms,
    resolveImage: async (ref: string) => (ref === IMAGE.name || ref === IMAGE.id ? (IMAGE as ImageRow) : null),
    resolveHost: async (ref: string) => (ref === HOST.name || ref === HOST.id ? (HOST as HostRow) : null),
    insertVm: async (row: VmRow) => void vms.set(row.id, { ...row }),
    removeUnpublishedVm: async (id: string) => void vms.delete(id),
    findVm: async (id: string) => vms.get(id) ?? null,
    findHost: async () => null,
  };
  return repo;
}

function fakeBus(opts: { publishFails?: boolean; requestError?: RpcError } = {}) {
  const published: { subject: string; body: Record<string, unknown> }[] = [];
  const bus = {
    published,
    publish: async (subject: string, body: Record<string, unknown>) => {
      if (opts.publishFails) throw new Error('TIMEOUT');
      published.push({ subject, body });
    },
    request: async () => {
      if (opts.requestError) throw opts.requestError;
      return { vmId: 'x', hostId: 'y', lines: ['login:'] };
    },
  };
  return bus;
}

const dto = { name: 'web-1', vcpus: 2, memoryMiB: 512, diskGiB: 4, image: 'lab', targetHost: 'hv1', tags: { team: 'web' } };

describe('VmsService.create', () => {
  it('stores the VM as requested/generation 0 and publishes vm.requested with the resolved image and host ids', async () => {
    const repo = fakeRepo();
    const bus = fakeBus();
    const vm = await new VmsService(repo as unknown as GatewayRepository, bus as unknown as Bus).create(dto);
    expect(vm).toMatchObject({ status: 'requested', name: 'web-1', image: { id: IMAGE.id, name: 'lab' }, host: null, tags: { team: 'web' } });
    expect(repo.vms.get(vm.id)).toMatchObject({ status: 'requested', generation: 0, targetHostId: HOST.id });
    expect(bus.published).toEqual([
      {
        subject: 'vm.requested',
        body: expect.objectContaining({
          vmId: vm.id,
          resources: { vcpus: 2, memoryMiB: 512, diskGiB: 4 },
          image: { id: IMAGE.id, name: 'lab', checksum: IMAGE.checksum },
          targetHostId: HOST.id,
        }),
      },
    ]);
  });

  it('withdraws the row and answers 503 when the bus does not take the event', async () => {
    const repo = fakeRepo();
    const svc = new VmsService(repo as unknown as GatewayRepository, fakeBus({ publishFails: true }) as unknown as Bus);
    await expect(svc.create(dto)).rejects.toBeInstanceOf(ServiceUnavailableException);
    expect(repo.vms.size).toBe(0);
  });

  it('refuses unknown images and hosts as field errors, storing nothing', async () => {
    const repo = fakeRepo();
    const bus = fakeBus();
    const svc = new VmsService(repo as unknown as GatewayRepository, bus as unknown as Bus);
    const e1 = await svc.create({ ...dto, image: 'nope' }).catch((e) => e);
    expect(e1).toBeInstanceOf(BadRequestException);
    expect(e1.getResponse()).toMatchObject({ message: 'image: unknown image "nope"', errors: [{ field: 'image', reason: 'unknown image "nope"' }] });
    const e2 = await svc.create({ ...dto, targetHost: 'hv9' }).catch((e) => e);
    expect(e2.getResponse()).toMatchObject({ errors: [{ field: 'targetHost', reason: 'unknown host "hv9"' }] });
    expect(repo.vms.size).toBe(0);
    expect(bus.published).toEqual([]);
  });
});

describe('VmsService.console', () => {
  it("maps the provisioner's answer statuses", async () => {
    const repo = fakeRepo();
    const svc0 = new VmsService(repo as unknown as GatewayRepository, fakeBus() as unknown as Bus);
    const vm = await svc0.create(dto);
    expect(await svc0.console(vm.id, 10)).toEqual({ lines: ['login:'] });
    for (const [rpc, http] of [[409, 409], [504, 504], [500, 502]]) {
      const svc = new VmsService(repo as unknown as GatewayRepository, fakeBus({ requestError: new RpcError(rpc, 'x') }) as unknown as Bus);
      const err = await svc.console(vm.id).catch((e) => e);
      expect(err).toBeInstanceOf(HttpException);
      expect((err as HttpException).getStatus()).toBe(http);
    }
  });

  it('answers 404 for a VM the read model does not know, without asking the provisioner', async () => {
    let asked = false;
    const bus = { request: async () => ((asked = true), { lines: [] }) };
    const svc = new VmsService(fakeRepo() as unknown as GatewayRepository, bus as unknown as Bus);
    await expect(svc.console('aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa')).rejects.toMatchObject({ status: 404 });
    expect(asked).toBe(false);
  });
});

describe('VmsService.create with flavors and its creation operation', () => {
  function fakeOps() {
    const ops = new Map<string, OperationRow>();
    return { ops, insert: async (r: OperationRow) => void ops.set(r.id, { ...r }), removePending: async (id: string) => void ops.delete(id) };
  }
  const flavors = { find: async (name: string) => (name === 'm1.small' ? { name, vcpus: 1, memoryMiB: 512, diskGiB: 2, createdAt: new Date() } : null) };
  const byFlavor = { name: 'web-2', flavor: 'm1.small', image: 'lab' };

  it('sizes the VM from the flavor and answers its pending create operation', async () => {
    const repo = fakeRepo();
    const ops = fakeOps();
    const bus = fakeBus();
    const svc = new VmsService(repo as unknown as GatewayRepository, bus as unknown as Bus, undefined, ops as unknown as OperationsRepository, flavors as unknown as FlavorsRepository);
    const vm = await svc.create(byFlavor);
    expect(vm).toMatchObject({ vcpus: 1, memoryMiB: 512, diskGiB: 2, operation: { vmId: vm.id, action: 'create', status: 'pending', error: null } });
    expect(ops.ops.get(vm.operation!.id)).toMatchObject({ vmId: vm.id, action: 'create', status: 'pending' });
    expect(bus.published[0].body).toMatchObject({ resources: { vcpus: 1, memoryMiB: 512, diskGiB: 2 } });
  });

  it('refuses an unknown flavor (together with an unknown image) and stores nothing', async () => {
    const repo = fakeRepo();
    const ops = fakeOps();
    const bus = fakeBus();
    const svc = new VmsService(repo as unknown as GatewayRepository, bus as unknown as Bus, undefined, ops as unknown as OperationsRepository, flavors as unknown as FlavorsRepository);
    const e = await svc.create({ ...byFlavor, flavor: 'x' }).catch((err) => err);
    expect(e.getResponse()).toMatchObject({ message: 'flavor: unknown flavor "x"', errors: [{ field: 'flavor', reason: 'unknown flavor "x"' }] });
    const both = await svc.create({ ...byFlavor, flavor: 'x', image: 'nope' }).catch((err) => err);
    expect(both.getResponse().errors.map((x: { field: string }) => x.field)).toEqual(['flavor', 'image']);
    expect(repo.vms.size + ops.ops.size + bus.published.length).toBe(0);
  });

  it('withdraws VM and operation when the bus does not take the event', async () => {
    const repo = fakeRepo();
    const ops = fakeOps();
    const svc = new VmsService(repo as unknown as GatewayRepository, fakeBus({ publishFails: true }) as unknown as Bus, undefined, ops as unknown as OperationsRepository, flavors as unknown as FlavorsRepository);
    await expect(svc.create(byFlavor)).rejects.toBeInstanceOf(ServiceUnavailableException);
    expect(repo.vms.size + ops.ops.size).toBe(0);
  });
});
