import { actionAllowed, ActionRules, VmAction, VmState } from '@minicloud/contracts';
import type { OperationStatus } from '@minicloud/contracts';

/** The 409 body when the state machine refuses an action: `state` tells the client where the VM is. */
export interface ActionConflict {
  statusCode: 409;
  error: 'Conflict';
  message: string;
  state: VmState;
}

/** null when `action` may run on a VM in `state`, else the 409 the client gets. */
export function actionConflict(action: VmAction, state: VmState): ActionConflict | null {
  if (actionAllowed(action, state)) return null;
  return { statusCode: 409, error: 'Conflict', message: `cannot ${action} a VM that is ${state}`, state };
}

/**
 * How the VM's creation operation follows the VM: it succeeds once the VM runs, fails when the VM fails (with the
 * VM's reason) or is deleted before it ran, and counts as running while it is scheduled or built. null: no change.
 */
export function createOperationOutcome(state: VmState, reason: string | null): { status: OperationStatus; error: string | null } | null {
  switch (state) {
    case 'running':
      return { status: 'succeeded', error: null };
    case 'failed':
      return { status: 'failed', error: reason ?? 'the VM failed' };
    case 'deleting':
    case 'deleted':
      return { status: 'failed', error: `the VM was ${state === 'deleted' ? 'deleted' : 'being deleted'} before it was running` };
    case 'scheduled':
    case 'provisioning':
      return { status: 'running', error: null };
    default:
      return null;
  }
}

/** Finished operations never change again; a pending one may start running or finish. */
export function isFinished(status: OperationStatus): boolean {
  return status === 'succeeded' || status === 'failed';
}

/**
 * A pending action operation counts as running once the VM shows the action's in-between state (stopping,
 * deleting); actions without one stay pending until vm.operation-finished says how they ended.
 */
export function actionStarted(action: VmAction, state: VmState): boolean {
  const during = ActionRules[action].during;
  return during !== undefined && during === state;
}
