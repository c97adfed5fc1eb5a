import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { canTransition, MigrationCompletedEvent, MigrationFailedEvent, MigrationStartedEvent, VmState } from '@minicloud/contracts';
import { PermanentError } from '@minicloud/messaging';
import { DomainState } from '@minicloud/hypervisor';
import { JsonLogger } from '@minicloud/telemetry';
import { DRIVER_FACTORY, DriverFactory } from '../infra/hypervisor.providers';
import { VmEntity } from '../persistence/entities';
import { ProvisionerRepository } from '../persistence/repositories';
import { MIGRATION_COMPLETED_CONSUMER, MIGRATION_ENDED_MARK, MIGRATION_FAILED_CONSUMER, MIGRATION_STARTED_CONSUMER } from '../provisioner.constants';
import { VmLocks } from '../vms/vm-locks';
import { VmTransitions } from '../vms/vm-transitions';
import { migrationOutcome } from './migration-outcome';

const log = new JsonLogger('provisioner');

interface Step {
  vm: VmEntity;
  from: VmState;
  reason?: string;
}

/**
 * What the migrator's events mean for the VM's record: migration.started → `migrating` (on the source);
 * migration.completed → on the target, `running`; migration.failed → on vmHostId, back to what it was (the host is
 * asked). Each handler stores the change with its inbox row in one transaction (next generation per state), then
 * publishes vm.state-changed. The three subjects have their own consumers, so their events can arrive in any order:
 * the end of a migration is marked (inbox, keyed by migration id) and a late migration.started for a migration
 * that already ended changes nothing. An event for a VM the provisioner does not know is dead-lettered.
 */
@Injectable()
export class MigrationStateService {
  constructor(
    private readonly repo: ProvisionerRepository,
    @Inject(DRIVER_FACTORY) private readonly driverFor: DriverFactory,
    private readonly locks: VmLocks,
    private readonly transitions: VmTransitions,
  ) {}

  started(e: MigrationStartedEvent): Promise<void> {
    return this.locks.run(e.vmId, async () => {
      const vm = await this.knownVm(e.vmId);
      const reason = `${e.mode} migration ${e.migrationId} to ${await this.hostName(e.targetHostId)}`;
      const isThis = vm.state === 'migrating' && vm.migrationId === e.migrationId;
      if (await this.repo.inboxHas(MIGRATION_STARTED_CONSUMER, e.eventId)) {
        if (isThis) await this.transitions.publish(vm, vm.preMigrationState ?? 'running', reason); // heal a lost event
        return;
      }
      if (isThis || (await this.repo.inboxHas(MIGRATION_ENDED_MARK, e.migrationId))) {
        // A duplicate, or a start that arrives after the migration's end: nothing to change.
        if (!isThis) log.warn({ msg: 'migration.started after the migration ended: ignored', vmId: vm.id, migrationId: e.migrationId }, 'Migration');
        await this.repo.transaction((m) => this.repo.recordInbox(MIGRATION_STARTED_CONSUMER, e.eventId, m));
        return;
      }
      if (vm.state === 'migrating') {
        throw new Error(`VM ${vm.id} is still migrating (migration ${vm.migrationId}): migration ${e.migrationId} waits for its end`);
      }
      if (vm.hostId !== e.sourceHostId) {
        throw new PermanentError(`VM ${vm.id} is on host ${vm.hostId}, not on the migration's source ${e.sourceHostId}`);
      }
      if (!canTransition(vm.state, 'migrating')) throw new PermanentError(`VM ${vm.id} is ${vm.state}: it cannot be migrating`);
      const from = vm.state;
      const steps = await this.store(MIGRATION_STARTED_CONSUMER, e.eventId, undefined, async (m) => {
        Object.assign(vm, { migrationId: e.migrationId, migrationTargetHostId: e.targetHostId, preMigrationState: from });
        return [{ vm: { ...(await this.transitions.apply(vm, 'migrating', reason, m)) }, from, reason }];
      });
      await this.publish(steps);
    });
  }

  completed(e: MigrationCompletedEvent): Promise<void> {
    return this.locks.run(e.vmId, async () => {
      const vm = await this.knownVm(e.vmId);
      const reason = `migrated from ${await this.hostName(e.sourceHostId)} to ${await this.hostName(e.targetHostId)} (migration ${e.migrationId})`;
      if (await this.repo.inboxHas(MIGRATION_COMPLETED_CONSUMER, e.eventId)) {
        if (vm.hostId === e.targetHostId && vm.state !== 'migrating') await this.transitions.publish(vm, 'migrating', reason);
        return;
      }
      if (vm.hostId === e.targetHostId && vm.state !== 'migrating') {
        await this.store(MIGRATION_COMPLETED_CONSUMER, e.eventId, e.migrationId, async () => []); // already recorded
        return;
      }
      if (vm.hostId !== e.sourceHostId) throw new PermanentError(`VM ${vm.id} is on host ${vm.hostId}, not on the migration's source ${e.sourceHostId}`);
      if (vm.state === 'migrating' && vm.migrationId !== e.migrationId) {
        throw new PermanentError(`VM ${vm.id} is migrating in migration ${vm.migrationId}, not ${e.migrationId}`);
      }
      // Normally the VM shows `migrating`; if migration.started has not been handled yet it still shows its old state.
      const before = vm.state === 'migrating' ? vm.preMigrationState : vm.state;
      // The migrator saw the domain run on the target; only a stopped VM's (cold) move needs the target asked.
      const domain: DomainState | undefined = before === 'stopped' ? await this.domainOn(e.targetHostId, vm.id) : 'running';
      const outcome = migrationOutcome(before, domain, await this.hostName(e.targetHostId), vm.domainName);
      const steps = await this.end(vm, e.eventId, MIGRATION_COMPLETED_CONSUMER, e.migrationId, e.targetHostId, outcome.path, outcome.note ? `${reason}; ${outcome.note}` : reason);
      await this.publish(steps);
      log.log({ msg: 'VM migrated', vmId: vm.id, migrationId: e.migrationId, from: e.sourceHostId, to: e.targetHostId }, 'Migration');
    });
  }

  failed(e: MigrationFailedEvent): Promise<void> {
    return this.locks.run(e.vmId, async () => {
      const vm = await this.knownVm(e.vmId);
      const hostName = await this.hostName(e.vmHostId);
      const why = `migration ${e.migrationId} ${e.cancelled ? 'was cancelled' : 'failed'}: ${e.reason}`;
      if (await this.repo.inboxHas(MIGRATION_FAILED_CONSUMER, e.eventId)) {
        if (vm.hostId === e.vmHostId && vm.state !== 'migrating' && !vm.migrationId) await this.transitions.publish(vm, 'migrating', `${why}; the VM is on ${hostName}`);
        return;
      }
      if (vm.state !== 'migrating' || vm.migrationId !== e.migrationId) {
        // It never showed this migration (refused before the start, or the start not handled yet): only forget the target.
        if (vm.hostId !== e.vmHostId) log.warn({ msg: 'migration.failed names another host than the VM\'s record', vmId: vm.id, migrationId: e.migrationId, recorded: vm.hostId, vmHostId: e.vmHostId }, 'Migration');
        await this.store(MIGRATION_FAILED_CONSUMER, e.eventId, e.migrationId, async (m) => {
          if (vm.state !== 'migrating' && vm.migrationTargetHostId) await this.repo.setMigrationTarget(vm.id, null, m);
          return [];
        });
        return;
      }
      const domain = await this.domainOn(e.vmHostId, vm.id);
      const outcome = migrationOutcome(vm.preMigrationState, domain, hostName, vm.domainName);
      const reason = `${why}; the VM is on ${hostName}${outcome.note ? `, ${outcome.note}` : ''}`;
      const steps = await this.end(vm, e.eventId, MIGRATION_FAILED_CONSUMER, e.migrationId, e.vmHostId, outcome.path, reason);
      await this.publish(steps);
      log.warn({ msg: 'VM migration failed', vmId: vm.id, migrationId: e.migrationId, vmHostId: e.vmHostId, state: steps[steps.length - 1]?.vm.state, reason }, 'Migration');
    });
  }

  /** The migration's end: the VM on `hostId`, through `path`, migration fields cleared, inbox + end mark, one transaction. */
  private end(vm: VmEntity, eventId: string, consumer: string, migrationId: string, hostId: string, path: VmState[], reason: string): Promise<Step[]> {
    return this.store(consumer, eventId, migrationId, async (m) => {
      Object.assign(vm, { hostId, migrationId: null, migrationTargetHostId: null, preMigrationState: null });
      const steps: Step[] = [];
      for (const to of path) {
        const from = vm.state;
        if (!canTransition(from, to)) throw new PermanentError(`VM ${vm.id} is ${from}: it cannot become ${to} after migration ${migrationId}`);
        steps.push({ vm: { ...(await this.transitions.apply(vm, to, reason, m)) }, from, reason });
      }
      return steps;
    });
  }

  /** Runs `fn` in a transaction with the event's inbox row (and the migration's end mark); nothing when already there. */
  private async store(consumer: string, eventId: string, endedMigrationId: string | undefined, fn: (m: EntityManager) => Promise<Step[]>): Promise<Step[]> {
    return this.repo.transaction(async (m) => {
      if (!(await this.repo.recordInbox(consumer, eventId, m))) return [];
      if (endedMigrationId) await this.repo.recordInbox(MIGRATION_ENDED_MARK, endedMigrationId, m);
      return fn(m);
    });
  }

  private async publish(steps: Step[]): Promise<void> {
    for (const s of steps) await this.transitions.publish(s.vm, s.from, s.reason);
  }

  private async knownVm(vmId: string): Promise<VmEntity> {
    const vm = await this.repo.findVm(vmId);
    if (!vm) throw new PermanentError(`VM ${vmId} is not known to the provisioner`);
    return vm;
  }

  private async hostName(hostId: string): Promise<string> {
    return (await this.repo.findHost(hostId))?.name ?? hostId;
  }

  /** The domain's state on a host; undefined when the host is not registered or cannot be asked now. */
  private async domainOn(hostId: string, vmId: string): Promise<DomainState | undefined> {
    const host = await this.repo.findHost(hostId);
    if (!host) return undefined;
    try {
      return await this.driverFor(host).domainState(vmId);
    } catch (err) {
      log.warn({ msg: 'cannot ask the host for the domain state after a migration', vmId, hostId, err: (err as Error).message }, 'Migration');
      return undefined;
    }
  }
}
