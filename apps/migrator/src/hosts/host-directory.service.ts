import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { Subjects } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { Durables } from '../constants';
import { MigrationsRepository } from '../persistence/migrations.repository';

/** The hosts the migrator can reach (address, SSH port and user), kept from host.registered/state-changed/removed. */
@Injectable()
export class HostDirectoryService implements OnApplicationBootstrap {
  private readonly log = new Logger('HostDirectory');

  constructor(
    private readonly bus: Bus,
    private readonly repo: MigrationsRepository,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.bus.consume(Subjects.HostRegistered, { durable: Durables.hostRegistered }, async (e) => {
      await this.repo.transaction(async (m) => {
        if (await this.repo.firstDelivery(m, Durables.hostRegistered, e.eventId)) await this.repo.upsertHost(m, e);
      });
      this.log.log({ msg: 'host known', hostId: e.hostId, address: e.address });
    });
    await this.bus.consume(Subjects.HostStateChanged, { durable: Durables.hostStateChanged }, async (e) => {
      await this.repo.transaction(async (m) => {
        if (!(await this.repo.firstDelivery(m, Durables.hostStateChanged, e.eventId))) return;
        // A change for a host not registered here yet is retried (redelivery) until the registration is consumed.
        if (!(await this.repo.setHostState(m, e.hostId, e.state))) throw new Error(`host ${e.hostId} is not known to the migrator yet`);
      });
    });
    await this.bus.consume(Subjects.HostRemoved, { durable: Durables.hostRemoved }, async (e) => {
      await this.repo.transaction(async (m) => {
        if (await this.repo.firstDelivery(m, Durables.hostRemoved, e.eventId)) await this.repo.removeHost(m, e.hostId);
      });
    });
  }
}
