/** A migration waiting for a slot, or one that holds a slot. */
export interface Slotted {
  id: string;
  sourceHostId: string;
  targetHostId: string;
}

export interface Limits {
  maxPerHost: number;
  maxInCluster: number;
}

/**
 * Which waiting migrations may start now, in order (oldest first): at most `maxPerHost` outbound migrations per
 * source host and `maxInCluster` in all. A host receiving a migration counts too (its link and disk are busy), so
 * a host never takes part in more than `maxPerHost` migrations at once.
 */
export function admit<T extends Slotted>(waiting: T[], running: Slotted[], limits: Limits): T[] {
  const busy = new Map<string, number>();
  const bump = (h: string) => busy.set(h, (busy.get(h) ?? 0) + 1);
  for (const r of running) {
    bump(r.sourceHostId);
    bump(r.targetHostId);
  }
  let total = running.length;
  const out: T[] = [];
  for (const w of waiting) {
    if (total >= limits.maxInCluster) break;
    if ((busy.get(w.sourceHostId) ?? 0) >= limits.maxPerHost) continue;
    if ((busy.get(w.targetHostId) ?? 0) >= limits.maxPerHost) continue;
    out.push(w);
    bump(w.sourceHostId);
    bump(w.targetHostId);
    total++;
  }
  return out;
}

/** Completion timeout of a migration: a base plus seconds per GiB of guest memory. */
export function completionTimeoutMs(memoryMiB: number, baseS: number, perGiBS: number): number {
  return Math.round((baseS + (perGiBS * memoryMiB) / 1024) * 1000);
}
