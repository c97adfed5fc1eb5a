/**
 * The VM state machine, in one place. docs/vm-states.md draws it; every service that changes a VM's
 * state asks `canTransition` first.
 */
export const VmStates = [
  'requested',
  'scheduled',
  'provisioning',
  'running',
  'stopping',
  'stopped',
  'suspended',
  'migrating',
  'deleting',
  'deleted',
  'failed',
] as const;
export type VmState = (typeof VmStates)[number];

const transitions: Record<VmState, readonly VmState[]> = {
  requested: ['scheduled', 'failed', 'deleting'],
  scheduled: ['provisioning', 'failed', 'deleting', 'requested'],
  provisioning: ['running', 'stopped', 'failed', 'deleting', 'requested'],
  running: ['stopping', 'stopped', 'suspended', 'migrating', 'deleting', 'failed', 'running'],
  stopping: ['stopped', 'running', 'failed', 'deleting'],
  stopped: ['running', 'deleting', 'failed', 'migrating'],
  suspended: ['running', 'stopping', 'stopped', 'deleting', 'failed'],
  migrating: ['running', 'stopped', 'failed'],
  deleting: ['deleted', 'failed'],
  deleted: [],
  failed: ['deleting', 'running', 'stopped'],
};

export function canTransition(from: VmState, to: VmState): boolean {
  return transitions[from].includes(to);
}

export function allowedTransitions(from: VmState): readonly VmState[] {
  return transitions[from];
}

export function isTerminal(state: VmState): boolean {
  return state === 'deleted';
}

/**
 * Lifecycle actions against the state machine: from which states an action may start, the state the VM shows
 * while it runs, and where it ends. The gateway refuses (409) an action whose `from` does not include the VM's state.
 */
export const ActionRules: Record<
  'start' | 'stop' | 'force-stop' | 'reboot' | 'suspend' | 'resume' | 'delete',
  { from: readonly VmState[]; during?: VmState; to: VmState }
> = {
  start: { from: ['stopped'], to: 'running' },
  stop: { from: ['running', 'suspended'], during: 'stopping', to: 'stopped' },
  'force-stop': { from: ['running', 'suspended', 'stopping'], to: 'stopped' },
  reboot: { from: ['running'], to: 'running' },
  suspend: { from: ['running'], to: 'suspended' },
  resume: { from: ['suspended'], to: 'running' },
  delete: { from: ['requested', 'scheduled', 'provisioning', 'running', 'stopping', 'stopped', 'suspended', 'failed'], during: 'deleting', to: 'deleted' },
};

/** Whether `action` may run on a VM in `state`; every step it implies is a legal transition. */
export function actionAllowed(action: keyof typeof ActionRules, state: VmState): boolean {
  const r = ActionRules[action];
  if (!r.from.includes(state)) return false;
  const path = [state, ...(r.during ? [r.during] : []), r.to].filter((s, i, a) => i === 0 || s !== a[i - 1]);
  for (let i = 1; i < path.length; i++) if (!canTransition(path[i - 1], path[i])) return false;
  return true;
}
