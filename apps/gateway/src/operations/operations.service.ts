import { ConflictException, Injectable, Logger, NotFoundException, ServiceUnavailableException } from '@nestjs/common';
import { randomUUID } from 'crypto';
import { Rpc, Subjects, VmAction, VmStartClaimReply } from '@minicloud/contracts';
import { toHttpError } from '../http/exceptions';
import { Bus } from '@minicloud/messaging';
import { OperationRow } from '../db/lifecycle.entities';
import { GatewayRepository } from '../read-model/gateway.repository';
import { actionConflict } from './operation-rules';
import { OperationsRepository } from './operations.repository';
import { OperationView, toOperationView } from './operation-view';

/** How long a start waits for the scheduler's claim check. */
export const START_CLAIM_TIMEOUT_MS = 10_000;

/** Lifecycle actions on VMs: checked against the state machine, recorded as operations, handed to the provisioner. */
@Injectable()
export class OperationsService {
  private readonly log = new Logger('OperationsService');

  constructor(
    private readonly ops: OperationsRepository,
    private readonly repo: GatewayRepository,
    private readonly bus: Bus,
  ) {}

  /**
   * 404 for an unknown VM, 409 (with the VM's state) when the state machine refuses, else stores the operation as
   * pending and publishes vm.action-requested; if the bus does not take it, the operation is removed and the
   * client gets a 503 (nothing half-accepted).
   */
  async request(vmId: string, action: VmAction, stopTimeoutSec?: number): Promise<OperationView> {
    const vm = await this.repo.findVm(vmId);
    if (!vm) throw new NotFoundException(`vm ${vmId} not found`);
    const conflict = actionConflict(action, vm.status);
    if (conflict) throw new ConflictException(conflict);
    if (action === 'start') await this.claimForStart(vmId, vm.hostId);
    const now = new Date();
    const row: OperationRow = { id: randomUUID(), vmId, action, status: 'pending', error: null, createdAt: now, updatedAt: now, finishedAt: null };
    await this.ops.insert(row);
    try {
      await this.bus.publish(Subjects.VmActionRequested, {
        operationId: row.id,
        vmId,
        action,
        ...(stopTimeoutSec !== undefined ? { stopTimeoutSec } : {}),
      });
    } catch (err) {
      this.log.warn({ msg: 'vm.action-requested not published; operation withdrawn', vmId, operationId: row.id, err: String((err as Error)?.message ?? err) });
      await this.ops.removePending(row.id);
      throw new ServiceUnavailableException('the action could not be queued (message bus unavailable); nothing was changed, try again');
    }
    return toOperationView(row);
  }

  /**
   * No VM runs without a claim: before a start the scheduler confirms the VM's capacity on its host, or takes it
   * again there (a preempted VM lost it; its disk is on that host). It answers 409 with the reason when the host
   * has no room (or is not up, or the VM is migrating); 503/504 when it does not answer. Nothing is recorded then.
   */
  private async claimForStart(vmId: string, hostId: string | null): Promise<void> {
    if (!hostId) throw new ConflictException({ statusCode: 409, error: 'Conflict', message: `VM ${vmId} has no host: it cannot be started` });
    try {
      await this.bus.request<VmStartClaimReply>(Rpc.VmStartClaim, { vmId, hostId }, START_CLAIM_TIMEOUT_MS);
    } catch (err) {
      throw toHttpError(err, 'scheduler');
    }
  }

  async get(id: string): Promise<OperationView> {
    const row = await this.ops.find(id);
    if (!row) throw new NotFoundException(`operation ${id} not found`);
    return toOperationView(row);
  }

  async list(vmId: string | undefined, limit = 50, offset = 0): Promise<{ items: OperationView[]; total: number }> {
    const page = await this.ops.list(vmId, limit, offset);
    return { items: page.items.map(toOperationView), total: page.total };
  }
}
