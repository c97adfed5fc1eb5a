import { holdTimeoutMs, isOverdue, timeoutReason } from './migration-timeout';

const cfg = { baseS: 900, perGiBS: 240 };

describe('migration hold timeout', () => {
  it('is the base plus seconds per GiB of guest memory', () => {
    expect(holdTimeoutMs(0, cfg)).toBe(900_000);
    expect(holdTimeoutMs(1024, cfg)).toBe(1_140_000);
    expect(holdTimeoutMs(512, { baseS: 2, perGiBS: 4 })).toBe(4_000);
  });

  it('refuses a negative or non-numeric memory size', () => {
    expect(() => holdTimeoutMs(-1, cfg)).toThrow(/memoryMiB/);
    expect(() => holdTimeoutMs(Number.NaN, cfg)).toThrow(/memoryMiB/);
  });

  it('a hold is overdue only after its own timeout (bigger VMs wait longer)', () => {
    const t0 = Date.parse('2026-11-28T00:00:00Z');
    const small = { memoryMiB: 1024, createdAt: new Date(t0) };
    const big = { memoryMiB: 8192, createdAt: new Date(t0) };
    const at = t0 + 1_140_001;
    expect(isOverdue(small, t0 + 1_140_000, cfg)).toBe(false);
    expect(isOverdue(small, at, cfg)).toBe(true);
    expect(isOverdue(big, at, cfg)).toBe(false);
  });

  it('says which migration, the limit and how long it was open', () => {
    const t0 = Date.parse('2026-11-28T00:00:00Z');
    const why = timeoutReason({ migrationId: 'm-1', memoryMiB: 2048, createdAt: new Date(t0) }, t0 + 1_500_000, cfg);
    expect(why).toContain('migration m-1 did not end within 1380 s');
    expect(why).toContain('open for 1500 s');
    expect(why).toContain('released the target');
  });
});
