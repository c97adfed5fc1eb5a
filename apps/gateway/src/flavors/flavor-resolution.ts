/** A VM's size, from a flavor or given explicitly. */
export interface VmSize {
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
}

export interface SizeRequest {
  flavor?: string;
  vcpus?: number;
  memoryMiB?: number;
  diskGiB?: number;
}

export type SizeResolution = { ok: true; size: VmSize; flavor: string | null } | { ok: false; errors: { field: string; reason: string }[] };

const SIZE_FIELDS = ['vcpus', 'memoryMiB', 'diskGiB'] as const;

/**
 * A VM is sized by `flavor` OR by all of vcpus/memoryMiB/diskGiB, never both, never neither. `flavorRow` is the
 * flavor the name resolved to (null: unknown).
 */
export function resolveSize(req: SizeRequest, flavorRow: VmSize | null): SizeResolution {
  const given = SIZE_FIELDS.filter((f) => req[f] !== undefined && req[f] !== null);
  if (req.flavor !== undefined) {
    if (given.length) return { ok: false, errors: given.map((f) => ({ field: f, reason: `give flavor or ${f}, not both` })) };
    if (!flavorRow) return { ok: false, errors: [{ field: 'flavor', reason: `unknown flavor "${req.flavor}"` }] };
    return { ok: true, size: { vcpus: flavorRow.vcpus, memoryMiB: flavorRow.memoryMiB, diskGiB: flavorRow.diskGiB }, flavor: req.flavor };
  }
  const missing = SIZE_FIELDS.filter((f) => !given.includes(f));
  if (missing.length) return { ok: false, errors: missing.map((f) => ({ field: f, reason: `${f} is required unless a flavor is given` })) };
  return { ok: true, size: { vcpus: req.vcpus!, memoryMiB: req.memoryMiB!, diskGiB: req.diskGiB! }, flavor: null };
}
