import { Inject, Injectable, Optional } from '@nestjs/common';
import { VmPreemptRequestedEvent, VmState } from '@minicloud/contracts';
import { PermanentError } from '@minicloud/messaging';
import { retry, RetryOptions } from '@minicloud/ssh';
import { JsonLogger } from '@minicloud/telemetry';
import { DRIVER_FACTORY, DriverFactory } from '../infra/hypervisor.providers';
import { ProvisionerRepository } from '../persistence/repositories';
import { VM_PREEMPT_CONSUMER } from '../provisioner.constants';
import { isTransientBuildError } from '../vms/vm-builder';
import { VmLocks } from '../vms/vm-locks';
import { VmTransitions } from '../vms/vm-transitions';

const log = new JsonLogger('provisioner');

export const VM_PREEMPT_RETRY = Symbol('VM_PREEMPT_RETRY');

/** States with nothing left to stop. */
const AT_REST: readonly VmState[] = ['stopped', 'deleting', 'deleted', 'failed'];
/** States in which the VM's domain may run: preemption pulls the plug. */
const STOPPABLE: readonly VmState[] = ['running', 'suspended', 'stopping'];

/** Says why, as the VM's stopped state will: who needed the room, and what was asked. */
export function preemptReason(e: Pick<VmPreemptRequestedEvent, 'action' | 'preemptedByVmId' | 'reservationId' | 'reason'>, targetName?: string): string {
  const by = e.preemptedByVmId ? `preempted by VM ${e.preemptedByVmId}` : e.reservationId ? `preempted by reservation ${e.reservationId}` : 'preempted';
  const base = `${by}: ${e.reason}`;
  if (e.action !== 'migrate') return base;
  return `${base}; asked to move it${targetName ? ` to ${targetName}` : ''}, but no migration was planned for it: it was stopped instead`;
}

/**
 * vm.preempt-requested. Action `stop` (the scheduler already released the VM's claim): the VM is forced off on its
 * host and shows `stopped`. Action `migrate` with a migration: nothing to do here — the VM keeps running and the
 * migrator moves it (migration.planned, origin preemption); if that fails the scheduler sends a `stop`. A `migrate`
 * without a migration is stopped, and the reason says so.
 * Idempotent (inbox); a VM already at rest is left alone; a VM in flight (building, migrating) is retried later.
 */
@Injectable()
export class VmPreemptService {
  constructor(
    private readonly repo: ProvisionerRepository,
    @Inject(DRIVER_FACTORY) private readonly driverFor: DriverFactory,
    private readonly locks: VmLocks,
    private readonly transitions: VmTransitions,
    @Optional() @Inject(VM_PREEMPT_RETRY) private readonly retryOptions: RetryOptions = {},
  ) {}

  handle(e: VmPreemptRequestedEvent): Promise<void> {
    return this.locks.run(e.vmId, async () => {
      const vm = await this.repo.findVm(e.vmId);
      if (!vm) throw new PermanentError(`VM ${e.vmId} is not known to the provisioner`);
      if (await this.repo.inboxHas(VM_PREEMPT_CONSUMER, e.eventId)) return;
      const skip = (why: string) => {
        log.warn({ msg: `preemption ignored: ${why}`, vmId: vm.id, hostId: e.hostId, state: vm.state }, 'VmPreempt');
        return this.repo.transaction((m) => this.repo.recordInbox(VM_PREEMPT_CONSUMER, e.eventId, m)).then(() => undefined);
      };
      if (e.action === 'migrate' && e.migrationId) {
        log.log({ msg: 'VM preempted: left running, the migrator moves it', vmId: vm.id, hostId: e.hostId, targetHostId: e.targetHostId, migrationId: e.migrationId, state: vm.state }, 'VmPreempt');
        return this.repo.transaction((m) => this.repo.recordInbox(VM_PREEMPT_CONSUMER, e.eventId, m)).then(() => undefined);
      }
      if (AT_REST.includes(vm.state)) return skip(`the VM is ${vm.state}`);
      if (vm.hostId !== e.hostId) return skip(`the VM is on host ${vm.hostId}, not ${e.hostId}`);
      if (!STOPPABLE.includes(vm.state)) throw new Error(`VM ${vm.id} is ${vm.state}: preemption waits until it settles`);
      const host = await this.repo.findHost(vm.hostId);
      if (!host) throw new PermanentError(`host ${vm.hostId} of VM ${vm.id} is not registered`);
      const driver = this.driverFor(host);
      await retry(() => driver.destroyVm(vm.id), { attempts: 4, baseDelayMs: 1000, isTransient: isTransientBuildError, ...this.retryOptions });
      const domain = await driver.domainState(vm.id);
      if (domain !== 'shutoff' && domain !== 'absent') throw new Error(`after force-stop the domain of VM ${vm.id} is "${domain}" on ${host.name}`);
      const target = e.targetHostId ? (await this.repo.findHost(e.targetHostId))?.name ?? e.targetHostId : undefined;
      const reason = preemptReason(e, target);
      const from = vm.state;
      const saved = await this.repo.transaction(async (m) => {
        if (!(await this.repo.recordInbox(VM_PREEMPT_CONSUMER, e.eventId, m))) return undefined;
        return { ...(await this.transitions.apply(vm, 'stopped', reason, m)) };
      });
      if (saved) await this.transitions.publish(saved, from, reason);
      log.log({ msg: 'VM preempted: stopped', vmId: vm.id, hostId: host.id, action: e.action, reason }, 'VmPreempt');
    });
  }
}
