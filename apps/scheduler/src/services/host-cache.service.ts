import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { CachedHost, HostRepository } from '../persistence';
import { HostView } from '../placement/types';

/** change_seq values may commit out of order; re-reading this many below the highest seen catches late commits. */
const LOOKBACK = 256;
const FULL_REFRESH_MS = 10_000;
const FULL_REFRESH_PAGE = 500;

/**
 * Each replica's in-memory view of scheduler.hosts, so a decision does not read 10,000 rows. Refreshed
 * incrementally (rows whose change_seq moved) when older than `maxAgeMs`, fully every 10 s. The view only
 * guides the choice: the claim's guarded UPDATE is the truth, and a lost claim refreshes the host at once.
 */
@Injectable()
export class HostCache {
  private byId = new Map<string, CachedHost>();
  private sorted: CachedHost[] | null = null;
  private maxSeq = 0;
  private lastRefresh = 0;
  private lastFull = 0;
  private inflight: Promise<void> | null = null;
  maxAgeMs = 200;
  /** Ids of the rows put since `logBase` (a change feed for the batch planner's short lists). */
  private log: string[] = [];
  private logBase = 0;

  constructor(
    private readonly db: DataSource,
    private readonly hosts: HostRepository,
  ) {}

  /** All hosts, in id order. */
  async view(forceRefresh = false): Promise<HostView[]> {
    if (forceRefresh) await this.refresh(true);
    else if (Date.now() - this.lastRefresh > this.maxAgeMs) await this.refresh();
    if (!this.sorted) this.sorted = [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.sorted;
  }

  /** `fresh`: the result must include everything committed before this call (not a refresh already under way). */
  /** The current view without any I/O (safe inside a transaction: never waits for a pool connection). */
  snapshot(): HostView[] {
    if (!this.sorted) this.sorted = [...this.byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.sorted;
  }

  async refresh(fresh = false): Promise<void> {
    if (this.inflight && !fresh) return this.inflight;
    while (this.inflight) await (this.inflight as Promise<void>).catch(() => undefined);
    this.inflight = (async () => {
      if (this.lastFull === 0) await this.fullRefresh();
      else {
        // The periodic full read (10,000 rows) runs beside decisions, never in their way: they go on with the
        // incremental view meanwhile.
        if (Date.now() - this.lastFull > FULL_REFRESH_MS && !this.fullInflight) void this.fullRefresh().catch(() => undefined);
        const rows = await this.hosts.changedSince(this.db.manager, Math.max(0, this.maxSeq - LOOKBACK));
        for (const r of rows) this.put(r);
      }
      this.lastRefresh = Date.now();
    })().finally(() => (this.inflight = null));
    return this.inflight;
  }

  private fullInflight = false;

  /**
   * Every row again (catches anything the incremental reads missed); rows put meanwhile are newer and kept.
   * Read in pages of FULL_REFRESH_PAGE rows: one 10,000-row result would hold the event loop for tens of ms
   * (parsing and mapping every row at once) and every decision waiting behind it; pages let batches run between.
   */
  private async fullRefresh(): Promise<void> {
    this.fullInflight = true;
    try {
      const started = Date.now();
      // Host rows are never deleted, so taking every row (older ones are ignored by put) is the whole job.
      let after: string | null = null;
      for (;;) {
        const page = await this.hosts.listPage(this.db.manager, after, FULL_REFRESH_PAGE);
        for (const r of page) this.put(r);
        if (page.length < FULL_REFRESH_PAGE) break;
        after = page[page.length - 1].id;
      }
      this.lastFull = started;
    } finally {
      this.fullInflight = false;
    }
  }

  /** Takes a fresher row (from a claim's RETURNING or a re-read); an older one is ignored. */
  put(h: CachedHost): void {
    if (h.changeSeq > this.maxSeq) this.maxSeq = h.changeSeq;
    const cur = this.byId.get(h.id);
    if (cur && cur.changeSeq > h.changeSeq) return;
    if (!cur || cur.changeSeq !== h.changeSeq) this.logChange(h.id);
    this.byId.set(h.id, h);
    if (!cur) this.sorted = null;
    else if (this.sorted) {
      // Same id, same place in the order: swap the object in place.
      const i = binarySearch(this.sorted, h.id);
      if (i >= 0) this.sorted[i] = h;
      else this.sorted = null;
    }
  }

  /** ChangeFeed: a version that grows with every row that changed in the view. */
  version(): number {
    return this.logBase + this.log.length;
  }

  /** Ids changed since `version` (repeats possible); null when that is older than the feed keeps. */
  changedSince(version: number): string[] | null {
    if (version < this.logBase) return null;
    return this.log.slice(version - this.logBase);
  }

  private logChange(id: string): void {
    this.log.push(id);
    if (this.log.length > 16_384) {
      this.logBase += 8192;
      this.log = this.log.slice(8192);
    }
  }

  async reload(id: string): Promise<void> {
    const h = await this.hosts.get(this.db.manager, id);
    if (h) this.put(h);
  }
}

function binarySearch(arr: HostView[], id: string): number {
  let lo = 0;
  let hi = arr.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const v = arr[mid].id;
    if (v === id) return mid;
    if (v < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
