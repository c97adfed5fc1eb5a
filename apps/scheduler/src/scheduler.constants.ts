export const SERVICE = 'scheduler';
export const SCHEMA = 'scheduler';

/** Durable consumer names: shared by every scheduler replica, so replicas split the work. */
export const Durables = {
  vmRequested: 'scheduler-vm-requested',
  vmStateChanged: 'scheduler-vm-state-changed',
  vmDeleted: 'scheduler-vm-deleted',
  hostRegistered: 'scheduler-host-registered',
  hostStateChanged: 'scheduler-host-state-changed',
  hostMetrics: 'scheduler-host-metrics',
  vmMetrics: 'scheduler-vm-metrics',
  migrationRequested: 'scheduler-migration-requested',
  migrationCompleted: 'scheduler-migration-completed',
  migrationFailed: 'scheduler-migration-failed',
} as const;

/** Queue group of the scheduler's request/reply subjects. */
export const RPC_QUEUE = 'scheduler';
