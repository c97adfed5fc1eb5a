import { Injectable } from '@nestjs/common';
import { firstDelivery } from '@minicloud/database';
import { PermanentError } from '@minicloud/messaging';
import type {
  HostRegisteredEvent,
  HostStateChangedEvent,
  ImageRegisteredEvent,
  VmDeletedEvent,
  VmScheduledEvent,
  VmScheduleFailedEvent,
  VmPreemptRequestedEvent,
  VmQueuedEvent,
  VmStateChangedEvent,
} from '@minicloud/contracts';
import { SCHEMA } from '../db/entities';
import { GatewayRepository } from './gateway.repository';
import { applyVmChange, isNotOlder, VmChange } from './vm-projection';
import { acceptNote, noteAfterState, preemptedNote, queuedNote, SchedulingNote } from './scheduling-projection';
import { OperationsRepository } from '../operations/operations.repository';
import { actionStarted, createOperationOutcome } from '../operations/operation-rules';

/**
 * Applies bus events to the read model. Each call is one transaction: the inbox row (drops redeliveries) and
 * the change commit together; the consumer acks after it returns.
 */
@Injectable()
export class ReadModelProjector {
  constructor(
    private readonly repo: GatewayRepository,
    private readonly ops: OperationsRepository,
  ) {}

  vmScheduled(consumer: string, e: VmScheduledEvent) {
    return this.applyVm(consumer, e.eventId, e.vmId, { kind: 'scheduled', hostId: e.hostId });
  }

  vmScheduleFailed(consumer: string, e: VmScheduleFailedEvent) {
    return this.applyVm(consumer, e.eventId, e.vmId, { kind: 'schedule-failed', reason: e.reason });
  }

  vmStateChanged(consumer: string, e: VmStateChangedEvent) {
    return this.applyVm(consumer, e.eventId, e.vmId, { kind: 'state-changed', state: e.state, generation: e.generation, hostId: e.hostId, reason: e.reason });
  }

  vmDeleted(consumer: string, e: VmDeletedEvent) {
    return this.applyVm(consumer, e.eventId, e.vmId, { kind: 'deleted', generation: e.generation });
  }

  /** vm.queued: the VM waits in the scheduler's queue (shown while it is `requested`). */
  vmQueued(consumer: string, e: VmQueuedEvent) {
    return this.noteVm(consumer, e.eventId, e.vmId, queuedNote(e));
  }

  /** vm.preempt-requested: the VM lost its capacity and is being stopped (shown once it is `stopped`). */
  vmPreemptRequested(consumer: string, e: VmPreemptRequestedEvent) {
    return this.noteVm(consumer, e.eventId, e.vmId, preemptedNote(e));
  }

  /** Stores the scheduler's note on the VM when its state allows it; true when stored. */
  private async noteVm(consumer: string, eventId: string, vmId: string, note: SchedulingNote): Promise<boolean> {
    return this.repo.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, eventId))) return false;
      const row = await this.repo.lockVm(m, vmId);
      if (!row) throw new PermanentError(`vm ${vmId} is not in the gateway read model`);
      const keep = acceptNote(row.status, note);
      if (!keep) return false;
      await this.repo.updateVm(m, vmId, { scheduling: keep });
      return true;
    });
  }

  /** Returns true when the event changed the VM. */
  private async applyVm(consumer: string, eventId: string, vmId: string, change: VmChange): Promise<boolean> {
    return this.repo.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, eventId))) return false;
      const row = await this.repo.lockVm(m, vmId);
      // The gateway commits a VM before publishing vm.requested, so every later event finds its row; one that
      // does not belongs to a VM this gateway never accepted (or whose request it withdrew with a 503).
      if (!row) throw new PermanentError(`vm ${vmId} is not in the gateway read model`);
      const next = applyVmChange({ status: row.status, generation: row.generation, hostId: row.hostId, reason: row.reason }, change);
      if (!next) return false;
      await this.repo.updateVm(m, vmId, { ...next, scheduling: noteAfterState(row.status, next.status, row.scheduling ?? null) });
      // The VM's creation is an operation too: it follows the VM until it runs or fails.
      const create = await this.ops.findOpenCreate(m, vmId);
      const outcome = create ? createOperationOutcome(next.status, next.reason) : null;
      if (create && outcome && outcome.status !== create.status) await this.ops.advance(m, create.id, outcome.status, outcome.error);
      // A pending action starts running when the VM shows its in-between state (stopping, deleting).
      for (const op of await this.ops.findPendingActions(m, vmId)) {
        if (op.action !== 'create' && actionStarted(op.action, next.status)) await this.ops.advance(m, op.id, 'running', null);
      }
      return true;
    });
  }

  hostRegistered(consumer: string, e: HostRegisteredEvent) {
    return this.repo.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, e.eventId))) return;
      await this.repo.upsertHost(
        m,
        { id: e.hostId, name: e.name, address: e.address, sshPort: e.sshPort, sshUser: e.sshUser, state: e.state, stateReason: '', facts: e.facts, registeredAt: e.occurredAt },
        new Date(e.occurredAt),
      );
    });
  }

  hostStateChanged(consumer: string, e: HostStateChangedEvent) {
    return this.repo.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, e.eventId))) return;
      const row = await this.repo.lockHost(m, e.hostId);
      if (!row) throw new PermanentError(`host ${e.hostId} is not in the gateway read model`);
      if (!isNotOlder(row.stateAt, e.occurredAt)) return;
      await this.repo.updateHost(m, e.hostId, { state: e.state, stateReason: e.reason, stateAt: new Date(e.occurredAt) });
    });
  }

  imageRegistered(consumer: string, e: ImageRegisteredEvent) {
    return this.repo.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, e.eventId))) return;
      await this.repo.upsertImage(m, {
        id: e.imageId,
        name: e.name,
        format: e.format,
        checksum: e.checksum,
        sizeBytes: e.sizeBytes,
        virtualSizeBytes: e.virtualSizeBytes,
        arch: e.arch,
        registeredAt: e.occurredAt,
      });
    });
  }
}
