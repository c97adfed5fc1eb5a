import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { firstDelivery } from '@minicloud/database';
import { Bus, PermanentError } from '@minicloud/messaging';
import { HostRemovedEvent, Subjects, VmOperationFinishedEvent } from '@minicloud/contracts';
import { SCHEMA } from '../db/entities';
import { durableFor } from '../read-model/events.consumer';
import { GatewayRepository } from '../read-model/gateway.repository';
import { OperationsRepository } from './operations.repository';

/** Applies the provisioner's lifecycle events: operations finishing, hosts removed. */
@Injectable()
export class LifecycleProjector {
  constructor(
    private readonly repo: GatewayRepository,
    private readonly ops: OperationsRepository,
  ) {}

  /** The operation ends as the provisioner says; a finished operation never changes again. */
  operationFinished(consumer: string, e: VmOperationFinishedEvent): Promise<void> {
    return this.repo.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, e.eventId))) return;
      const op = await this.ops.lock(m, e.operationId);
      // The gateway commits an operation before publishing vm.action-requested: an unknown one was never ours.
      if (!op) throw new PermanentError(`operation ${e.operationId} is not in the gateway read model`);
      if (op.vmId !== e.vmId) throw new PermanentError(`operation ${e.operationId} belongs to vm ${op.vmId}, not ${e.vmId}`);
      await this.ops.advance(m, op.id, e.status, e.status === 'failed' ? e.error ?? `${e.action} failed` : null);
    });
  }

  hostRemoved(consumer: string, e: HostRemovedEvent): Promise<void> {
    return this.repo.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, e.eventId))) return;
      await this.repo.deleteHost(m, e.hostId);
    });
  }
}

/** One durable consumer per subject (nats-server 2.9: one filter subject each). */
@Injectable()
export class LifecycleEventsConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly bus: Bus,
    private readonly projector: LifecycleProjector,
  ) {}

  async onApplicationBootstrap() {
    const finished = durableFor(Subjects.VmOperationFinished); // gateway-vm-operation-finished
    const removed = durableFor(Subjects.HostRemoved); // gateway-host-removed
    await this.bus.consume(Subjects.VmOperationFinished, { durable: finished }, (e) => this.projector.operationFinished(finished, e));
    await this.bus.consume(Subjects.HostRemoved, { durable: removed }, (e) => this.projector.hostRemoved(removed, e));
  }
}
