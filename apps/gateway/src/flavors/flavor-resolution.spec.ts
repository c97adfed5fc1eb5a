import { resolveSize } from './flavor-resolution';

const small = { vcpus: 1, memoryMiB: 512, diskGiB: 2 };

describe('resolveSize', () => {
  it('takes the size of the flavor', () => {
    expect(resolveSize({ flavor: 'm1.small' }, small)).toEqual({ ok: true, size: small, flavor: 'm1.small' });
  });

  it('takes explicit sizes', () => {
    expect(resolveSize({ vcpus: 2, memoryMiB: 1024, diskGiB: 4 }, null)).toEqual({ ok: true, size: { vcpus: 2, memoryMiB: 1024, diskGiB: 4 }, flavor: null });
  });

  it('refuses an unknown flavor', () => {
    expect(resolveSize({ flavor: 'x' }, null)).toEqual({ ok: false, errors: [{ field: 'flavor', reason: 'unknown flavor "x"' }] });
  });

  it('refuses both, naming each explicit field', () => {
    const r = resolveSize({ flavor: 'm1.small', vcpus: 2, diskGiB: 3 }, small);
    expect(r).toEqual({ ok: false, errors: [{ field: 'vcpus', reason: 'give flavor or vcpus, not both' }, { field: 'diskGiB', reason: 'give flavor or diskGiB, not both' }] });
  });

  it('refuses neither or a partial size, naming the missing fields', () => {
    const r = resolveSize({ vcpus: 1 }, null);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors.map((e) => e.field)).toEqual(['memoryMiB', 'diskGiB']);
    const none = resolveSize({}, null);
    expect(!none.ok && none.errors.map((e) => e.field)).toEqual(['vcpus', 'memoryMiB', 'diskGiB']);
  });
});
