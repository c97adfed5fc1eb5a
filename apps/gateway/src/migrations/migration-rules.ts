import type { HostState, MigrationControlAction, MigrationMode, MigrationState, MigrationStorageKind, VmState, VmStorageKind } from '@minicloud/contracts';

/** States after which a migration never changes again. */
export const FINISHED_MIGRATION_STATES: readonly MigrationState[] = ['completed', 'failed', 'cancelled'];
/** A VM may have at most one migration in these states (the gateway refuses a second one). */
export const OPEN_MIGRATION_STATES: readonly MigrationState[] = ['requested', 'planned', 'running'];

export function isFinishedMigration(state: MigrationState): boolean {
  return FINISHED_MIGRATION_STATES.includes(state);
}

/** The VM state each mode needs: a live migration moves a running guest, a cold one a stopped VM. */
export const STATE_FOR_MODE: Record<MigrationMode, VmState> = { live: 'running', cold: 'stopped' };

/** A 409 body: the message, and facts a client can act on. */
export interface MigrationConflict {
  statusCode: 409;
  error: 'Conflict';
  message: string;
  state?: string;
  hostState?: string;
  migrationId?: string;
}

/**
 * The migration storage when the client names none: a VM on the shared datastore moves `shared` (its disk stays
 * put), a host-local VM `copy`.
 */
export function defaultMigrationStorage(vmStorage: VmStorageKind | undefined): MigrationStorageKind {
  return vmStorage === 'shared' ? 'shared' : 'copy';
}

export interface MigrationRequestFacts {
  mode: MigrationMode;
  /** The storage asked for (or its default for the VM). */
  storage: MigrationStorageKind;
  vm: { id: string; name: string; status: VmState; hostId: string | null; storage?: VmStorageKind };
  /** The resolved target host, when the client named one (else the scheduler chooses). */
  target: { id: string; name: string; state: HostState } | null;
  /** The VM's unfinished migration, if any. */
  open: { id: string; state: MigrationState } | null;
}

const conflict = (message: string, extra: Omit<MigrationConflict, 'statusCode' | 'error' | 'message'> = {}): MigrationConflict => ({ statusCode: 409, error: 'Conflict', message, ...extra });

/**
 * Whether a migration may be requested now: null when it may, else the 409 the client gets. In order: an
 * unfinished migration of the VM (named), the VM's state for the mode, a VM without host, a storage that does not
 * fit the VM's disk (`copy` of a shared disk would write it onto itself; `shared` of a host-local disk cannot work:
 * no other host sees it), the target being the VM's host, a target that is not up.
 */
export function migrationRefusal(f: MigrationRequestFacts): MigrationConflict | null {
  if (f.open) return conflict(`vm ${f.vm.name} already has an unfinished migration ${f.open.id} (${f.open.state})`, { migrationId: f.open.id, state: f.open.state });
  const needed = STATE_FOR_MODE[f.mode];
  if (f.vm.status !== needed) {
    return conflict(`cannot ${f.mode}-migrate a VM that is ${f.vm.status} (a ${f.mode} migration needs a ${needed} VM)`, { state: f.vm.status });
  }
  if (!f.vm.hostId) return conflict(`vm ${f.vm.name} has no host to migrate from`, { state: f.vm.status });
  const vmStorage = f.vm.storage ?? 'local';
  if (vmStorage === 'shared' && f.storage !== 'shared') {
    return conflict(`vm ${f.vm.name} has its disk on the shared datastore: migrate it with storage "shared" (the default for it), not "${f.storage}"`);
  }
  if (vmStorage === 'local' && f.storage === 'shared') {
    return conflict(`vm ${f.vm.name} has a host-local disk (storage "local"): no other host sees it, so storage "shared" cannot move it; use "copy" (the default)`);
  }
  if (f.target) {
    if (f.target.id === f.vm.hostId) return conflict(`vm ${f.vm.name} already runs on host ${f.target.name}`);
    if (f.target.state !== 'up') return conflict(`target host ${f.target.name} is ${f.target.state} (it must be up)`, { hostState: f.target.state });
  }
  return null;
}

/** null when a cancel/force-complete may be sent, else the 409 (a finished migration cannot be controlled). */
export function controlRefusal(action: MigrationControlAction, m: { id: string; state: MigrationState }): MigrationConflict | null {
  if (!isFinishedMigration(m.state)) return null;
  return conflict(`cannot ${action} migration ${m.id}: it is already ${m.state}`, { state: m.state });
}
