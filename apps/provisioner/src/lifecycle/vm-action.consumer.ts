import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Subjects } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { VM_ACTION_ACK_WAIT_MS, VM_ACTION_CONSUMER, VM_ACTION_MAX_DELIVER } from '../provisioner.constants';
import { VmActionService } from './vm-action.service';

@Injectable()
export class VmActionConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly bus: Bus,
    private readonly actions: VmActionService,
  ) {}

  async onApplicationBootstrap() {
    // The bus keeps extending the ack deadline while a handler runs (a graceful stop may wait long).
    await this.bus.consume(
      Subjects.VmActionRequested,
      { durable: VM_ACTION_CONSUMER, ackWaitMs: VM_ACTION_ACK_WAIT_MS, maxDeliver: VM_ACTION_MAX_DELIVER, retryDelayMs: 2000, concurrency: 4 },
      (event) => this.actions.handle(event),
    );
  }
}
