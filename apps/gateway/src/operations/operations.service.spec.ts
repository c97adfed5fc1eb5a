import { ConflictException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import type { Bus } from '@minicloud/messaging';
import type { VmRow } from '../db/entities';
import type { OperationRow } from '../db/lifecycle.entities';
import type { GatewayRepository } from '../read-model/gateway.repository';
import type { OperationsRepository } from './operations.repository';
import { OperationsService } from './operations.service';

const VM_ID = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';

function setup(status: VmRow['status'], publishFails = false) {
  const ops = new Map<string, OperationRow>();
  const published: { subject: string; body: Record<string, unknown> }[] = [];
  const repo = { findVm: async (id: string) => (id === VM_ID ? ({ id, status } as VmRow) : null) };
  const opsRepo = { insert: async (r: OperationRow) => void ops.set(r.id, r), removePending: async (id: string) => void ops.delete(id) };
  const bus = {
    publish: async (subject: string, body: Record<string, unknown>) => {
      if (publishFails) throw new Error('TIMEOUT');
      published.push({ subject, body });
    },
  };
  const svc = new OperationsService(opsRepo as unknown as OperationsRepository, repo as unknown as GatewayRepository, bus as unknown as Bus);
  return { svc, ops, published };
}

describe('OperationsService.request', () => {
  it('stores a pending operation and publishes vm.action-requested', async () => {
    const { svc, ops, published } = setup('running');
    const op = await svc.request(VM_ID, 'stop', 20);
    expect(op).toMatchObject({ vmId: VM_ID, action: 'stop', status: 'pending', error: null, finishedAt: null });
    expect(ops.get(op.id)?.status).toBe('pending');
    expect(published).toEqual([{ subject: 'vm.action-requested', body: { operationId: op.id, vmId: VM_ID, action: 'stop', stopTimeoutSec: 20 } }]);
  });

  it('refuses with 409 and the state, storing and publishing nothing', async () => {
    const { svc, ops, published } = setup('running');
    const err = await svc.request(VM_ID, 'resume').catch((e) => e);
    expect(err).toBeInstanceOf(ConflictException);
    expect(err.getResponse()).toEqual({ statusCode: 409, error: 'Conflict', message: 'cannot resume a VM that is running', state: 'running' });
    expect(ops.size + published.length).toBe(0);
  });

  it('answers 404 for an unknown VM', async () => {
    const { svc } = setup('running');
    await expect(svc.request('bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', 'stop')).rejects.toBeInstanceOf(NotFoundException);
  });

  it('withdraws the operation and answers 503 when the bus does not take the event', async () => {
    const { svc, ops } = setup('stopped', true);
    await expect(svc.request(VM_ID, 'start')).rejects.toBeInstanceOf(ServiceUnavailableException);
    expect(ops.size).toBe(0);
  });
});
