import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Subject, Subjects } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { ReadModelProjector } from './projector';

/** Durable name of the gateway's consumer of `subject`: 'gateway-vm-state-changed' for 'vm.state-changed'. */
export function durableFor(subject: Subject): string {
  return `gateway-${subject.replace(/[.]/g, '-')}`;
}

/** Feeds the read model: one durable consumer per subject (nats-server 2.9: one filter subject each). */
@Injectable()
export class GatewayEventsConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly bus: Bus,
    private readonly projector: ReadModelProjector,
  ) {}

  async onApplicationBootstrap() {
    const p = this.projector;
    const d = durableFor;
    await this.bus.consume(Subjects.VmScheduled, { durable: d(Subjects.VmScheduled) }, async (e) => void (await p.vmScheduled(d(Subjects.VmScheduled), e)));
    await this.bus.consume(Subjects.VmScheduleFailed, { durable: d(Subjects.VmScheduleFailed) }, async (e) => void (await p.vmScheduleFailed(d(Subjects.VmScheduleFailed), e)));
    await this.bus.consume(Subjects.VmStateChanged, { durable: d(Subjects.VmStateChanged) }, async (e) => void (await p.vmStateChanged(d(Subjects.VmStateChanged), e)));
    await this.bus.consume(Subjects.VmDeleted, { durable: d(Subjects.VmDeleted) }, async (e) => void (await p.vmDeleted(d(Subjects.VmDeleted), e)));
    await this.bus.consume(Subjects.VmQueued, { durable: d(Subjects.VmQueued) }, async (e) => void (await p.vmQueued(d(Subjects.VmQueued), e)));
    await this.bus.consume(Subjects.VmPreemptRequested, { durable: d(Subjects.VmPreemptRequested) }, async (e) => void (await p.vmPreemptRequested(d(Subjects.VmPreemptRequested), e)));
    await this.bus.consume(Subjects.HostRegistered, { durable: d(Subjects.HostRegistered) }, (e) => p.hostRegistered(d(Subjects.HostRegistered), e));
    await this.bus.consume(Subjects.HostStateChanged, { durable: d(Subjects.HostStateChanged) }, (e) => p.hostStateChanged(d(Subjects.HostStateChanged), e));
    await this.bus.consume(Subjects.ImageRegistered, { durable: d(Subjects.ImageRegistered) }, (e) => p.imageRegistered(d(Subjects.ImageRegistered), e));
  }
}
