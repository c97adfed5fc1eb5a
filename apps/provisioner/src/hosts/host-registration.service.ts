import { randomUUID } from 'crypto';
import { Inject, Injectable } from '@nestjs/common';
import { HostRegisterRequest, HostView, NAME_PATTERN, Subjects } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { SshPool } from '@minicloud/ssh';
import { JsonLogger } from '@minicloud/telemetry';
import { DRIVER_FACTORY, DriverFactory } from '../infra/hypervisor.providers';
import { HostEntity } from '../persistence/entities';
import { ProvisionerRepository } from '../persistence/repositories';
import { hostRegistrationError } from '../errors';
import { toHostView } from '../views';

const log = new JsonLogger('provisioner');

/**
 * Registers a hypervisor host: pins its SSH host key from known_hosts (never trust-on-first-use), discovers
 * it over SSH, stores it and publishes host.registered.
 *
 * Registering an address:port that is already registered is idempotent: the existing host keeps its id and
 * its pinned key (a changed key is refused), its facts are re-discovered, and host.registered is published
 * again (consumers upsert by hostId), so a lost event is healed by registering again.
 */
@Injectable()
export class HostRegistrationService {
  constructor(
    private readonly repo: ProvisionerRepository,
    private readonly bus: Bus,
    @Inject(SshPool) private readonly pool: SshPool,
    @Inject(DRIVER_FACTORY) private readonly driverFor: DriverFactory,
  ) {}

  async register(req: HostRegisterRequest): Promise<HostView> {
    const sshPort = req.sshPort ?? 22;
    const sshUser = req.sshUser ?? 'root';
    const label = `${req.address}:${sshPort}`;
    try {
      const existing = await this.repo.findHostByAddress(req.address, sshPort);
      const hostKey = existing?.hostKey ?? this.pool.knownHostKey(req.address, sshPort);
      const facts = await this.driverFor({ address: req.address, sshPort, sshUser, hostKey }).discover();
      const host = Object.assign(existing ?? new HostEntity(), {
        id: existing?.id ?? randomUUID(),
        name: req.name ?? existing?.name ?? defaultHostName(req.address),
        address: req.address,
        sshPort,
        sshUser,
        hostKey,
        facts,
        // An administrator's "disabled" survives re-registration; only enabling the host lifts it.
        state: existing?.adminState === 'disabled' ? ('disabled' as const) : ('up' as const),
        stateReason: existing ? (existing.adminState === 'disabled' ? existing.stateReason : 'registered again: facts re-discovered') : 'registered',
      });
      const saved = await this.repo.saveHost(host);
      await this.bus.publish(Subjects.HostRegistered, {
        hostId: saved.id,
        name: saved.name,
        address: saved.address,
        sshPort: saved.sshPort,
        sshUser: saved.sshUser,
        facts: saved.facts,
        state: saved.state,
      });
      log.log({ msg: existing ? 'host re-registered' : 'host registered', hostId: saved.id, address: label, facts }, 'HostRegistration');
      return toHostView(saved);
    } catch (err) {
      throw hostRegistrationError(err, label);
    }
  }
}

export function defaultHostName(address: string): string {
  return NAME_PATTERN.test(address) ? address : `host-${address.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 50)}`;
}
