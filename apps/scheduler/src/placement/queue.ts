import { DEFAULT_VM_PRIORITY } from '@minicloud/contracts';

export interface QueueConfig {
  /** A waiting request's priority rises by one level per step (default 60 s). */
  agingStepMs: number;
  /** How long a request without a deadline waits before it fails (default 300 s; 0 = fail at once). */
  maxWaitMs: number;
}

export interface QueueEntry {
  vmId: string;
  priority: number;
  enqueuedAt: number;
}

/** Aging: one priority level better per `agingStepMs` waited, never above 1 (the highest). */
export function effectivePriority(priority: number, enqueuedAt: number, now: number, agingStepMs: number): number {
  if (agingStepMs <= 0) return priority;
  return Math.max(1, priority - Math.floor(Math.max(0, now - enqueuedAt) / agingStepMs));
}

/** Queue order: effective priority, then first come first served, then VM id (a total order). */
export function orderQueue<T extends QueueEntry>(entries: T[], now: number, agingStepMs: number): (T & { effectivePriority: number })[] {
  return entries
    .map((e) => ({ ...e, effectivePriority: effectivePriority(e.priority, e.enqueuedAt, now, agingStepMs) }))
    .sort((a, b) => a.effectivePriority - b.effectivePriority || a.enqueuedAt - b.enqueuedAt || (a.vmId < b.vmId ? -1 : a.vmId > b.vmId ? 1 : 0));
}

/** When a queued request gives up: its deadline, else enqueue time + maxWait. */
export function expiresAt(enqueuedAt: number, deadline: number | null, maxWaitMs: number): number {
  return deadline ?? enqueuedAt + maxWaitMs;
}

/** Only priority 1 and 2 may preempt, and only VMs of a lower priority (a larger number). */
export function mayPreempt(priority: number | undefined): boolean {
  return (priority ?? DEFAULT_VM_PRIORITY) <= 2;
}
