import { Injectable } from '@nestjs/common';
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
    if (!canTransition(from, to)) throw new Error(`illegal VM state transition ${from} → ${to} for ${vm.id}`);
    vm.state = to;
    vm.generation += 1;
    vm.lastError = to === 'failed' ? (reason ?? 'failed') : null;
    const saved = await this.repo.saveVm(vm);
    await this.publish(saved, from, reason);
    return saved;
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
