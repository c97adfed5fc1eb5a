import { allocatedOf, capacityOf, preemptibleOf } from './capacity';
import { HostView, Resources } from './types';
import { acceptsVms } from './filters/host-state.filter';

export interface Amount {
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
}

/** Capacity one reservation still holds on one host over its window [start, end) (ms). */
export interface Hold extends Amount {
  start: number;
  end: number;
}

const ZERO: Amount = { vcpus: 0, memoryMiB: 0, diskGiB: 0 };

/**
 * The most the holds need at the same time (per resource), optionally only within [from, to). Sums only rise
 * where a hold starts, so checking each start (and `from`) is enough.
 */
export function maxOverlap(holds: Hold[], from = -Infinity, to = Infinity): Amount {
  const inRange = holds.filter((h) => h.start < to && h.end > from);
  if (!inRange.length) return { ...ZERO };
  // A hold that began before `from` is already counted at `from`.
  const points = inRange.map((h) => Math.max(h.start, from));
  const out = { ...ZERO };
  for (const t of points) {
    const at = { ...ZERO };
    for (const h of inRange) {
      if (h.start <= t && t < h.end) {
        at.vcpus += h.vcpus;
        at.memoryMiB += h.memoryMiB;
        at.diskGiB += h.diskGiB;
      }
    }
    out.vcpus = Math.max(out.vcpus, at.vcpus);
    out.memoryMiB = Math.max(out.memoryMiB, at.memoryMiB);
    out.diskGiB = Math.max(out.diskGiB, at.diskGiB);
  }
  return out;
}

const key = { vcpus: 'vcpus', memory: 'memoryMiB', disk: 'diskGiB' } as const;

/**
 * How many VMs of `flavor` a host can guarantee over [start, end): its capacity minus what non-preemptible VMs
 * use now (they have no end) minus what other reservations hold at the same time. Preemptible VMs do not count:
 * they are preempted when the window opens.
 */
export function guaranteedSlots(host: HostView, holds: Hold[], flavor: Amount, start: number, end: number): number {
  const other = maxOverlap(holds, start, end);
  let slots = Infinity;
  for (const r of Resources) {
    const k = key[r];
    const free = capacityOf(host, r) - (allocatedOf(host, r) - preemptibleOf(host, r)) - other[k];
    slots = Math.min(slots, Math.floor(Math.max(0, free) / flavor[k]));
  }
  return slots;
}

/**
 * Places `count` slots of `flavor` over up hosts, fullest guarantees first (fewest hosts); null when the
 * cluster cannot guarantee them all.
 */
export function placeReservation(
  hosts: HostView[],
  holdsByHost: Map<string, Hold[]>,
  flavor: Amount,
  count: number,
  start: number,
  end: number,
): Map<string, number> | null {
  const options = hosts
    .filter((h) => acceptsVms(h))
    .map((h) => ({ id: h.id, slots: guaranteedSlots(h, holdsByHost.get(h.id) ?? [], flavor, start, end) }))
    .filter((o) => o.slots > 0)
    .sort((a, b) => b.slots - a.slots || (a.id < b.id ? -1 : 1));
  const out = new Map<string, number>();
  let left = count;
  for (const o of options) {
    if (left <= 0) break;
    const n = Math.min(o.slots, left);
    out.set(o.id, n);
    left -= n;
  }
  return left > 0 ? null : out;
}
