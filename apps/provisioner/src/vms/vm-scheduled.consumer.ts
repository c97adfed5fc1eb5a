import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Subjects } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { VM_SCHEDULED_ACK_WAIT_MS, VM_SCHEDULED_CONSUMER, VM_SCHEDULED_MAX_DELIVER } from '../provisioner.constants';
import { VmProvisioningService } from './vm-provisioning.service';

@Injectable()
export class VmScheduledConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly bus: Bus,
    private readonly provisioning: VmProvisioningService,
  ) {}

  async onApplicationBootstrap() {
    await this.bus.consume(
      Subjects.VmScheduled,
      {
        durable: VM_SCHEDULED_CONSUMER,
        ackWaitMs: VM_SCHEDULED_ACK_WAIT_MS,
        maxDeliver: VM_SCHEDULED_MAX_DELIVER,
        retryDelayMs: 2000,
        concurrency: 4,
      },
      (event, ctx) => this.provisioning.handleScheduled(event, ctx),
    );
  }
}
