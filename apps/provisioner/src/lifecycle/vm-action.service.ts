import { Inject, Injectable, Optional } from '@nestjs/common';
import { Subjects, VmActionRequestedEvent, VmState } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { DomainState, HypervisorDriver, HypervisorError } from '@minicloud/hypervisor';
import { retry, RetryOptions } from '@minicloud/ssh';
import { JsonLogger } from '@minicloud/telemetry';
import { describeBuildFailure } from '../errors';
import { DRIVER_FACTORY, DriverFactory } from '../infra/hypervisor.providers';
import { OperationEntity, VmEntity } from '../persistence/entities';
import { ProvisionerRepository } from '../persistence/repositories';
import { DEFAULT_STOP_TIMEOUT_SEC, rebootTimeoutSec } from '../provisioner.constants';
import { isTransientBuildError } from '../vms/vm-builder';
import { VmLocks } from '../vms/vm-locks';
import { VmTransitions } from '../vms/vm-transitions';
import { ActionPlan, domainMatches, planAction, planResume, vmStateOfDomain } from './action-plan';

const log = new JsonLogger('provisioner');

export const VM_ACTION_OPTIONS = Symbol('VM_ACTION_OPTIONS');

export interface VmActionOptions {
  retry?: RetryOptions;
  /** Poll interval while waiting for a graceful stop. */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  rebootTimeoutSec?: () => number;
}

/**
 * Runs lifecycle actions (vm.action-requested) on the VM's host and reports them: vm.state-changed for the
 * `during` state and the final one (generations increasing), vm.deleted after a delete, and always
 * vm.operation-finished. Idempotent by operationId: a finished operation is only re-announced; one interrupted
 * half-way (redelivered after a crash) continues where the VM is. Transient host errors are retried with backoff.
 */
@Injectable()
export class VmActionService {
  private readonly o: Required<Omit<VmActionOptions, 'retry'>> & { retry: RetryOptions };

  constructor(
    private readonly repo: ProvisionerRepository,
    private readonly bus: Bus,
    @Inject(DRIVER_FACTORY) private readonly driverFor: DriverFactory,
    private readonly locks: VmLocks,
    private readonly transitions: VmTransitions,
    @Optional() @Inject(VM_ACTION_OPTIONS) opts: VmActionOptions = {},
  ) {
    this.o = {
      retry: opts.retry ?? {},
      pollMs: opts.pollMs ?? 1000,
      sleep: opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms))),
      rebootTimeoutSec: opts.rebootTimeoutSec ?? rebootTimeoutSec,
    };
  }

  handle(e: VmActionRequestedEvent): Promise<void> {
    return this.locks.run(e.vmId, () => this.run(e));
  }

  private async run(e: VmActionRequestedEvent): Promise<void> {
    const op = await this.repo.findOperation(e.operationId);
    if (op && op.status !== 'running') return this.announceFinished(op); // already done: heal a lost event
    const vm = await this.repo.findVm(e.vmId);
    if (!vm) {
      if (e.action === 'delete') return this.deleteUnbuilt(e);
      return this.finish(e, 'failed', `VM ${e.vmId} is not known to the provisioner (it was never built on a host)`);
    }
    if (vm.state === 'deleted' && e.action === 'delete') return this.finish(e, 'succeeded', undefined, 'deleted');

    const checked = planAction(e.action, vm.state);
    let plan: ActionPlan;
    if (checked.ok) plan = checked.plan;
    else {
      // Redelivered after a crash half-way (the VM shows the action's `during` state): carry on.
      const resumed = op ? planResume(e.action, vm.state) : undefined;
      if (!resumed) return this.finish(e, 'failed', checked.reason, vm.state);
      plan = resumed;
    }

    const host = await this.repo.findHost(vm.hostId);
    if (!host) return this.finish(e, 'failed', `host ${vm.hostId} of VM ${vm.id} is not registered`, vm.state);
    if (!op) await this.repo.saveOperation(Object.assign(new OperationEntity(), { operationId: e.operationId, vmId: e.vmId, action: e.action, status: 'running', state: null, error: null, finishedAt: null }));

    let current = vm;
    if (plan.during && current.state !== plan.during) current = await this.transitions.move(current, plan.during);
    const driver = this.driverFor(host);
    try {
      const note = await this.withRetry(vm.id, () => this.perform(driver, current, plan, e));
      const domain = await this.withRetry(vm.id, () => driver.domainState(vm.id));
      if (!domainMatches(domain, plan.expectDomain)) {
        throw new HypervisorError(e.action, null, '', `after ${e.action} the domain is "${domain}", expected "${plan.expectDomain}"`);
      }
      current = await this.transitions.move(current, plan.to, note);
      if (e.action === 'delete') {
        current.generation += 1;
        current = await this.repo.saveVm(current);
        await this.bus.publish(Subjects.VmDeleted, { vmId: current.id, hostId: current.hostId, generation: current.generation });
      }
      log.log({ msg: 'VM action done', vmId: vm.id, action: e.action, operationId: e.operationId, note }, 'VmAction');
      await this.finish(e, 'succeeded', undefined, current.state);
    } catch (err) {
      const reason = describeBuildFailure(err, host).replace(/^building the VM on/, `${e.action} on`);
      log.warn({ msg: 'VM action failed', vmId: vm.id, action: e.action, operationId: e.operationId, reason }, 'VmAction');
      current = await this.settleAfterFailure(driver, current, plan, reason);
      await this.finish(e, 'failed', reason, current.state);
    }
  }

  /**
   * Delete of a VM never built here (still requested/scheduled as far as the platform knows): nothing is on any
   * host. The succeeded delete operation is the tombstone that makes a late vm.scheduled be ignored; deleting (2),
   * deleted (3) and vm.deleted (4) follow the gateway's requested (0) / scheduled (1) generations, so the scheduler
   * releases a claim it may hold.
   */
  private async deleteUnbuilt(e: VmActionRequestedEvent): Promise<void> {
    // Events first (republished with the same generations if we crash before the record), then the record.
    await this.bus.publish(Subjects.VmStateChanged, { vmId: e.vmId, state: 'deleting', generation: 2, reason: 'deleted before it was built on a host' });
    await this.bus.publish(Subjects.VmStateChanged, { vmId: e.vmId, state: 'deleted', previousState: 'deleting', generation: 3 });
    await this.bus.publish(Subjects.VmDeleted, { vmId: e.vmId, generation: 4 });
    log.log({ msg: 'VM deleted before it was built', vmId: e.vmId, operationId: e.operationId }, 'VmAction');
    await this.finish(e, 'succeeded', undefined, 'deleted');
  }

  /** Does the action on the host; returns a note for the state event (e.g. "forced off after 60 s"). */
  private async perform(driver: HypervisorDriver, vm: VmEntity, plan: ActionPlan, e: VmActionRequestedEvent): Promise<string | undefined> {
    switch (plan.action) {
      case 'start':
        await driver.startVm(vm.id);
        return undefined;
      case 'force-stop':
        await driver.destroyVm(vm.id);
        return undefined;
      case 'suspend':
        await driver.suspendVm(vm.id);
        return undefined;
      case 'resume':
        await driver.resumeVm(vm.id);
        return undefined;
      case 'reboot': {
        const how = await driver.rebootVm(vm.id, { timeoutSec: this.o.rebootTimeoutSec() });
        return how === 'reset' ? 'the guest ignored the ACPI reboot request: it was reset' : undefined;
      }
      case 'delete':
        // Deleting the VM itself: its disk on the shared datastore goes too (only <shared>/vms/<its id>).
        await driver.deleteVm(vm.id, { removeSharedDisk: vm.storage === 'shared' });
        return undefined;
      case 'stop': {
        const timeoutSec = e.stopTimeoutSec ?? DEFAULT_STOP_TIMEOUT_SEC;
        if ((await driver.domainState(vm.id)) === 'paused') await driver.resumeVm(vm.id); // a paused guest cannot see ACPI
        await driver.stopVm(vm.id);
        const end = Date.now() + timeoutSec * 1000;
        while (Date.now() < end) {
          const s = await driver.domainState(vm.id);
          if (s === 'shutoff' || s === 'absent') return undefined;
          await this.o.sleep(this.o.pollMs);
        }
        await driver.destroyVm(vm.id);
        return `the guest did not shut down within ${timeoutSec} s: it was forced off`;
      }
    }
  }

  /** After a failure the VM shows what its domain really is (or failed, for a delete that could not finish). */
  private async settleAfterFailure(driver: HypervisorDriver, vm: VmEntity, plan: ActionPlan, reason: string): Promise<VmEntity> {
    let domain: DomainState | undefined;
    try {
      domain = await driver.domainState(vm.id);
    } catch {
      domain = undefined;
    }
    let target: VmState | undefined;
    if (plan.action === 'delete') target = 'failed';
    else if (domain === 'absent') target = 'failed';
    else if (domain) target = vmStateOfDomain(domain);
    if (!target && plan.during && vm.state === plan.during) target = 'failed'; // host unreachable mid-way: we cannot say
    if (!target || target === vm.state) return vm;
    const why = target === 'failed' ? (domain === 'absent' ? `${reason}; the domain is gone from the host` : reason) : `${plan.action} failed: ${reason}`;
    try {
      return await this.transitions.move(vm, target, why);
    } catch {
      return vm;
    }
  }

  private withRetry<T>(vmId: string, fn: () => Promise<T>): Promise<T> {
    return retry(fn, {
      attempts: 4,
      baseDelayMs: 1000,
      isTransient: isTransientBuildError,
      onRetry: (err, attempt, delayMs) => log.warn({ msg: 'host busy or unreachable, retrying', vmId, attempt, delayMs, err: (err as Error).message }, 'VmAction'),
      ...this.o.retry,
    });
  }

  private async finish(e: VmActionRequestedEvent, status: 'succeeded' | 'failed', error?: string, state?: VmState): Promise<void> {
    await this.announceFinished(await this.finishRecord(e, status, error, state));
  }

  private async finishRecord(e: VmActionRequestedEvent, status: 'succeeded' | 'failed', error?: string, state?: VmState): Promise<OperationEntity> {
    const op = Object.assign((await this.repo.findOperation(e.operationId)) ?? new OperationEntity(), {
      operationId: e.operationId,
      vmId: e.vmId,
      action: e.action,
      status,
      state: state ?? null,
      error: error ?? null,
      finishedAt: new Date(),
    });
    return this.repo.saveOperation(op);
  }

  private async announceFinished(op: OperationEntity): Promise<void> {
    await this.bus.publish(Subjects.VmOperationFinished, {
      operationId: op.operationId,
      vmId: op.vmId,
      action: op.action,
      status: op.status as 'succeeded' | 'failed',
      ...(op.error ? { error: op.error.slice(0, 4000) } : {}),
      ...(op.state ? { state: op.state } : {}),
    });
  }
}

