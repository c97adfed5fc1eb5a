import { DataSource } from 'typeorm';
import { CachedHost, HostRepository } from '../persistence';
import { host } from '../placement/test-utils/hosts';
import { HostCache } from './host-cache.service';

/** A host table in memory, answering the two reads HostCache makes (as the SQL in HostRepository does). */
class TableInMemory {
  rows: CachedHost[] = [];
  pages: number[] = [];

  listPage(_m: unknown, afterId: string | null, limit: number): Promise<CachedHost[]> {
    const sorted = [...this.rows].sort((a, b) => (a.id < b.id ? -1 : 1));
    const page = sorted.filter((r) => afterId === null || r.id > afterId).slice(0, limit);
    this.pages.push(page.length);
    return Promise.resolve(page.map((r) => ({ ...r })));
  }

  changedSince(_m: unknown, seq: number): Promise<CachedHost[]> {
    return Promise.resolve(this.rows.filter((r) => r.changeSeq > seq).map((r) => ({ ...r })));
  }
}

function id(i: number): string {
  return `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
}

describe('HostCache', () => {
  it('reads the whole host table in pages, none larger than 500 rows, and holds every host in id order', async () => {
    const table = new TableInMemory();
    // Inserted out of id order, as registrations arrive.
    for (let i = 1234; i >= 1; i--) table.rows.push({ ...host({ id: id(i), name: `h${i}` }), changeSeq: i });
    const cache = new HostCache({ manager: {} } as unknown as DataSource, table as unknown as HostRepository);
    const view = await cache.view();
    expect(view).toHaveLength(1234);
    expect(view.map((h) => h.id)).toEqual([...Array(1234)].map((_, i) => id(i + 1)));
    expect(table.pages).toEqual([500, 500, 234]);
  });

  it('keeps a row changed while the pages were read at its newer version', async () => {
    const table = new TableInMemory();
    for (let i = 1; i <= 600; i++) table.rows.push({ ...host({ id: id(i), allocatedVcpus: 0 }), changeSeq: i });
    const cache = new HostCache({ manager: {} } as unknown as DataSource, table as unknown as HostRepository);
    // A claim's RETURNING row for host 550 (seq 700) arrives before the full read reaches it with the old version.
    cache.put({ ...host({ id: id(550), allocatedVcpus: 8 }), changeSeq: 700 });
    await cache.view();
    expect(cache.snapshot().find((h) => h.id === id(550))?.allocatedVcpus).toBe(8);
    expect(cache.snapshot()).toHaveLength(600);
  });
});
