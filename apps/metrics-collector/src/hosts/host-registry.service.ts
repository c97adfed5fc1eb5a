import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { EventOf, Subjects } from '@minicloud/contracts';
import { firstDelivery } from '@minicloud/database';
import { Bus } from '@minicloud/messaging';
import { CollectionService } from '../collection/collection.service';
import { Durables, SCHEMA } from '../constants';
import { MetricsRepository } from '../persistence/metrics.repository';

/** Keeps metrics.hosts in step with host.registered and host.state-changed (one durable consumer each). */
@Injectable()
export class HostRegistryService implements OnApplicationBootstrap {
  private readonly log = new Logger('HostRegistryService');

  constructor(
    private readonly bus: Bus,
    private readonly repo: MetricsRepository,
    private readonly collection: CollectionService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.consume(Subjects.HostRegistered, { durable: Durables.hostRegistered }, (e) => this.onRegistered(Durables.hostRegistered, e));
    await this.bus.consume(Subjects.HostStateChanged, { durable: Durables.hostStateChanged }, (e) => this.onStateChanged(Durables.hostStateChanged, e));
    await this.bus.consume(Subjects.HostRemoved, { durable: Durables.hostRemoved }, (e) => this.onRemoved(Durables.hostRemoved, e));
  }

  /** A host removed from the platform is no longer collected; its history stays until retention drops it. */
  async onRemoved(consumer: string, e: EventOf<typeof Subjects.HostRemoved>): Promise<void> {
    const removed = await this.repo.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, e.eventId))) return false;
      await this.repo.removeHost(m, e.hostId);
      return true;
    });
    if (!removed) return;
    this.collection.untrack(e.hostId);
    this.log.log({ msg: 'host removed: no longer collected', hostId: e.hostId });
  }

  async onRegistered(consumer: string, e: EventOf<typeof Subjects.HostRegistered>): Promise<void> {
    const stored = await this.repo.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, e.eventId))) return false;
      await this.repo.upsertHost(m, e);
      return true;
    });
    if (!stored) return;
    const row = (await this.repo.listHosts()).find((h) => h.id === e.hostId);
    if (row) this.collection.track({ id: row.id, name: row.name, address: row.address, port: row.sshPort, user: row.sshUser, state: row.state });
    this.log.log({ msg: 'host registered for collection', hostId: e.hostId, address: e.address, port: e.sshPort });
  }

  /** A change for a host not registered here yet is retried (redelivery) until the registration is consumed. */
  async onStateChanged(consumer: string, e: EventOf<typeof Subjects.HostStateChanged>): Promise<void> {
    const r = await this.repo.transaction(async (m) => {
      if (!(await firstDelivery(m, SCHEMA, consumer, e.eventId))) return 'duplicate';
      const res = await this.repo.applyHostState(m, e.hostId, e.state, e.reason, new Date(e.occurredAt));
      if (res === 'unknown') throw new Error(`host ${e.hostId} is not registered with the metrics collector yet`);
      return res;
    });
    if (r === 'updated') this.collection.stateChanged(e.hostId, e.state);
  }
}
