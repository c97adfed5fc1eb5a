import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Subjects } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { VM_PREEMPT_CONSUMER } from '../provisioner.constants';
import { VmPreemptService } from './vm-preempt.service';

@Injectable()
export class VmPreemptConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly bus: Bus,
    private readonly preempt: VmPreemptService,
  ) {}

  async onApplicationBootstrap() {
    await this.bus.consume(
      Subjects.VmPreemptRequested,
      { durable: VM_PREEMPT_CONSUMER, ackWaitMs: 120_000, maxDeliver: 5, retryDelayMs: 2000, concurrency: 4 },
      (e) => this.preempt.handle(e),
    );
  }
}
