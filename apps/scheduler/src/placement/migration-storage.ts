import type { MigrationStorageKind, VmStorageKind } from '@minicloud/contracts';

/**
 * The storage a planned migration uses. A VM on the shared datastore always moves with `shared`: its disk stays
 * where it is (a `copy` would write the disk onto itself), whatever an internal requester (planner, maintenance
 * drain, preemption) asked for; the gateway already refuses `copy` for such a VM from a client. A local VM keeps
 * what was asked (the provisioner refuses `shared` for it with the reason).
 */
export function plannedMigrationStorage(requested: MigrationStorageKind, vmStorage: VmStorageKind | undefined): MigrationStorageKind {
  return vmStorage === 'shared' ? 'shared' : requested;
}
