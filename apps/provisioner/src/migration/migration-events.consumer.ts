import { Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { Subjects } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import {
  MIGRATION_COMPLETED_CONSUMER,
  MIGRATION_EVENTS_ACK_WAIT_MS,
  MIGRATION_EVENTS_MAX_DELIVER,
  MIGRATION_FAILED_CONSUMER,
  MIGRATION_STARTED_CONSUMER,
} from '../provisioner.constants';
import { MigrationStateService } from './migration-state.service';

/** migration.started / completed / failed → the VM's record (one durable consumer per subject). */
@Injectable()
export class MigrationEventsConsumer implements OnApplicationBootstrap {
  constructor(
    private readonly bus: Bus,
    private readonly state: MigrationStateService,
  ) {}

  async onApplicationBootstrap() {
    const opts = { ackWaitMs: MIGRATION_EVENTS_ACK_WAIT_MS, maxDeliver: MIGRATION_EVENTS_MAX_DELIVER, retryDelayMs: 2000, concurrency: 4 };
    await this.bus.consume(Subjects.MigrationStarted, { durable: MIGRATION_STARTED_CONSUMER, ...opts }, (e) => this.state.started(e));
    await this.bus.consume(Subjects.MigrationCompleted, { durable: MIGRATION_COMPLETED_CONSUMER, ...opts }, (e) => this.state.completed(e));
    await this.bus.consume(Subjects.MigrationFailed, { durable: MIGRATION_FAILED_CONSUMER, ...opts }, (e) => this.state.failed(e));
  }
}
