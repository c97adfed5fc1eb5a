import { actionAllowed, ActionRules, VmAction, VmState } from '@minicloud/contracts';
import type { DomainState } from '@minicloud/hypervisor';

export interface ActionPlan {
  action: VmAction;
  /** The state the VM shows while the action runs (stop → stopping, delete → deleting). */
  during?: VmState;
  /** Where it ends when the action succeeds. */
  to: VmState;
  /** The domain state the host must show afterwards. */
  expectDomain: DomainState;
}

const EXPECT: Record<VmAction, DomainState> = {
  start: 'running',
  stop: 'shutoff',
  'force-stop': 'shutoff',
  reboot: 'running',
  suspend: 'paused',
  resume: 'running',
  delete: 'absent',
};

/**
 * Checks an action against the VM's current state (ActionRules, the same table the gateway used — but the state
 * may have moved since), and says what the VM goes through. Refusals name the current state.
 */
export function planAction(action: VmAction, current: VmState): { ok: true; plan: ActionPlan } | { ok: false; reason: string } {
  const rule = ActionRules[action];
  if (!rule) return { ok: false, reason: `unknown action ${JSON.stringify(action)}` };
  if (!actionAllowed(action, current)) {
    return { ok: false, reason: `cannot ${action} a VM that is ${current} (${action} is allowed from: ${rule.from.join(', ')})` };
  }
  return { ok: true, plan: { action, during: rule.during, to: rule.to, expectDomain: EXPECT[action] } };
}

/**
 * For an operation delivered again after a crash half-way: the VM already shows the action's `during` state
 * (stopping, deleting), which the rules would refuse; the action carries on from there.
 */
export function planResume(action: VmAction, current: VmState): ActionPlan | undefined {
  const rule = ActionRules[action];
  if (!rule?.during || rule.during !== current) return undefined;
  return { action, during: rule.during, to: rule.to, expectDomain: EXPECT[action] };
}

/** What a libvirt domain state means for the VM (undefined: transitional or unknown, e.g. "in shutdown"). */
export function vmStateOfDomain(d: DomainState): VmState | undefined {
  switch (d) {
    case 'running':
    case 'blocked':
      return 'running';
    case 'paused':
    case 'pmsuspended':
      return 'suspended';
    case 'shutoff':
    case 'crashed':
      return 'stopped';
    default:
      return undefined;
  }
}

/** Same domain state, allowing the equivalents libvirt reports (idle = blocked for a running guest). */
export function domainMatches(actual: DomainState, expected: DomainState): boolean {
  if (actual === expected) return true;
  if (expected === 'running') return actual === 'blocked';
  if (expected === 'paused') return actual === 'pmsuspended';
  return false;
}
