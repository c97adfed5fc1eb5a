export const SERVICE = 'provisioner';
export const SCHEMA = 'provisioner';
/** The RPC queue group: one replica answers each request. */
export const RPC_QUEUE = 'provisioner';
export const VM_SCHEDULED_CONSUMER = 'provisioner-vm-scheduled';
export const VM_SCHEDULED_MAX_DELIVER = 3;
export const VM_SCHEDULED_ACK_WAIT_MS = 60_000;
/** Kernel command line for direct-kernel-boot images registered without one. */
export const DEFAULT_KERNEL_CMDLINE = 'console=ttyS0 root=/dev/vda rw';
export const DEFAULT_CONSOLE_LINES = 50;
export const VM_ACTION_CONSUMER = 'provisioner-vm-action-requested';
/** Kept alive by the bus while the handler works; a stop may wait up to an hour for its guest. */
export const VM_ACTION_ACK_WAIT_MS = 120_000;
export const VM_ACTION_MAX_DELIVER = 3;
export const HOST_STATE_CONSUMER = 'provisioner-host-state-changed';
export const DEFAULT_STOP_TIMEOUT_SEC = 60;
/** How long a guest gets to honour an ACPI reboot before it is reset (PROVISIONER_REBOOT_TIMEOUT_SEC). */
export const DEFAULT_REBOOT_TIMEOUT_SEC = 30;
export const DEFAULT_RECONCILE_INTERVAL_MS = 30_000;

function envInt(name: string, dflt: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
  return n;
}

export const rebootTimeoutSec = () => envInt('PROVISIONER_REBOOT_TIMEOUT_SEC', DEFAULT_REBOOT_TIMEOUT_SEC, 1);
/** 0 turns the timer off (reconciliation then runs only when a host comes back up). */
export const reconcileIntervalMs = () => envInt('PROVISIONER_RECONCILE_INTERVAL_MS', DEFAULT_RECONCILE_INTERVAL_MS, 0);

// Live migration (issue 6): one durable consumer per subject (nats-server 2.9: one filter subject per consumer).
export const MIGRATION_STARTED_CONSUMER = 'provisioner-migration-started';
export const MIGRATION_COMPLETED_CONSUMER = 'provisioner-migration-completed';
export const MIGRATION_FAILED_CONSUMER = 'provisioner-migration-failed';
/** Inbox "consumer" under which the id of every migration that ended is kept (a late migration.started is ignored). */
export const MIGRATION_ENDED_MARK = 'provisioner-migration-ended';
export const MIGRATION_EVENTS_MAX_DELIVER = 5;
export const MIGRATION_EVENTS_ACK_WAIT_MS = 60_000;
/** vm.preempt-requested (issue 4): the scheduler took a preemptible VM's capacity away; the VM is forced off. */
export const VM_PREEMPT_CONSUMER = 'provisioner-vm-preempt-requested';
