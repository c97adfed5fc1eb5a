import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Subjects } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { JsonLogger } from '@minicloud/telemetry';
import { HOST_STATE_CONSUMER } from '../provisioner.constants';
import { ReconcileService } from './reconcile.service';

const log = new JsonLogger('provisioner');

/** A host that comes back up is reconciled at once (its VMs may have died or been changed meanwhile). */
@Injectable()
export class HostStateConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly bus: Bus,
    private readonly reconcile: ReconcileService,
  ) {}

  async onApplicationBootstrap() {
    await this.bus.consume(Subjects.HostStateChanged, { durable: HOST_STATE_CONSUMER, ackWaitMs: 120_000 }, async (e) => {
      if (e.state !== 'up') return;
      const r = await this.reconcile.reconcileHost(e.hostId);
      if (r.error !== 'host not registered') {
        log.log({ msg: 'host up: reconciled', hostId: e.hostId, changes: r.changes.length, applied: r.applied, unknown: r.unknown.length, error: r.error }, 'Reconcile');
      }
    });
  }
}
