import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { canTransition, Subjects, VmState } from '@minicloud/contracts';
import { Bus } from '@minicloud/messaging';
import { VmEntity } from '../persistence/entities';
import { ProvisionerRepository } from '../persistence/repositories';

/**
 * Moves a VM to a new state: asks the state machine, stores it with the next generation, then (after the
 * commit) publishes vm.state-changed with that generation.
 */
@Injectable()
export class VmTransitions {
  constructor(
    private readonly repo: ProvisionerRepository,
    private readonly bus: Bus,
  ) {}

  async move(vm: VmEntity, to: VmState, reason?: string): Promise<VmEntity> {
    const from = vm.state;
    const saved = await this.apply(vm, to, reason);
    await this.publish(saved, from, reason);
    return saved;
  }

  /**
   * The stored half of `move`: the state machine's check, the new state with the next generation, saved (in the
   * caller's transaction when `m` is given, e.g. with its inbox row). The caller publishes after the commit.
   */
  async apply(vm: VmEntity, to: VmState, reason?: string, m?: EntityManager): Promise<VmEntity> {
    const from = vm.state;
    if (!canTransition(from, to)) throw new Error(`illegal VM state transition ${from} → ${to} for ${vm.id}`);
    vm.state = to;
    vm.generation += 1;
    vm.lastError = to === 'failed' ? (reason ?? 'failed') : null;
    return this.repo.saveVm(vm, m);
  }

  async publish(vm: VmEntity, previousState: VmState, reason?: string): Promise<void> {
    await this.bus.publish(Subjects.VmStateChanged, {
      vmId: vm.id,
      state: vm.state,
      previousState,
      hostId: vm.hostId,
      generation: vm.generation,
      ...(reason ? { reason: reason.slice(0, 4000) } : {}),
    });
  }
}
