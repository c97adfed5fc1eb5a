import { ConflictException, HttpException, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { RpcError } from '@minicloud/messaging';
import type { Bus } from '@minicloud/messaging';
import type { VmRow } from '../db/entities';
import type { OperationRow } from '../db/lifecycle.entities';
import type { GatewayRepository } from '../read-model/gateway.repository';
import type { OperationsRepository } from './operations.repository';
import { OperationsService } from './operations.service';

const VM_ID = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa';

const HOST_ID = 'cccccccc-cccc-4ccc-8ccc-cccccccccccc';

function setup(status: VmRow['status'], publishFails = false, claim: (body: Record<string, unknown>) => Promise<unknown> = async (b) => ({ ...b, claim: 'held', reason: 'held' })) {
  const ops = new Map<string, OperationRow>();
  const published: { subject: string; body: Record<string, unknown> }[] = [];
  const asked: { subject: string; body: Record<string, unknown> }[] = [];
  const repo = { findVm: async (id: string) => (id === VM_ID ? ({ id, status, hostId: HOST_ID } as VmRow) : null) };
  const opsRepo = { insert: async (r: OperationRow) => void ops.set(r.id, r), removePending: async (id: string) => void ops.delete(id) };
  const bus = {
    publish: async (subject: string, body: Record<string, unknown>) => {
      if (publishFails) throw new Error('TIMEOUT');
      published.push({ subject, body });
    },
    request: async (subject: string, body: Record<string, unknown>) => {
      asked.push({ subject, body });
      return claim(body);
    },
  };
  const svc = new OperationsService(opsRepo as unknown as OperationsRepository, repo as unknown as GatewayRepository, bus as unknown as Bus);
  return { svc, ops, published, asked };
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

  it('asks the scheduler for the VM claim on its host before a start, and only then publishes', async () => {
    const { svc, published, asked } = setup('stopped');
    await svc.request(VM_ID, 'start');
    expect(asked).toEqual([{ subject: 'rpc.scheduler.vm.start-claim', body: { vmId: VM_ID, hostId: HOST_ID } }]);
    expect(published.map((p) => p.body.action)).toEqual(['start']);
    const other = setup('running');
    await other.svc.request(VM_ID, 'stop');
    expect(other.asked).toEqual([]); // only a start needs capacity again
  });

  it('a start the scheduler refuses (no room on the host) is a 409 with its reason, nothing stored or published', async () => {
    const reason = 'VM x cannot start: its capacity was given away (preempted by VM y), and host h1 lacked memory (need 4096 MiB, free 0 MiB)';
    const { svc, ops, published } = setup('stopped', false, async () => {
      throw new RpcError(409, reason);
    });
    const err = await svc.request(VM_ID, 'start').catch((e) => e);
    expect(err).toBeInstanceOf(HttpException);
    expect(err.getStatus()).toBe(409);
    expect(err.getResponse()).toMatchObject({ statusCode: 409, message: reason });
    expect(ops.size + published.length).toBe(0);
  });

  it('a start while the scheduler does not answer is a 503 naming it', async () => {
    const { svc, ops } = setup('stopped', false, async () => {
      throw new RpcError(503, 'no scheduler service is answering');
    });
    const err = await svc.request(VM_ID, 'start').catch((e) => e);
    expect(err.getStatus()).toBe(503);
    expect(ops.size).toBe(0);
  });

  it('withdraws the operation and answers 503 when the bus does not take the event', async () => {
    const { svc, ops } = setup('stopped', true);
    await expect(svc.request(VM_ID, 'start')).rejects.toBeInstanceOf(ServiceUnavailableException);
    expect(ops.size).toBe(0);
  });
});
