import type { DomainState } from '@minicloud/hypervisor';

export type Side = 'source' | 'target';

export interface Settlement {
  /** Where the VM runs (or is defined) from now on. */
  vmOn: Side;
  /** Remove the VM's domain from this host (and its files when the disks were copied). */
  cleanup: Side | null;
  /** The surviving domain is paused by the migration: resume it. */
  resume: boolean;
  /** Nothing consistent was found: an operator must look. */
  lost: boolean;
  why: string;
}

const runs = (s: DomainState) => s === 'running' || s === 'blocked' || s === 'paused' || s === 'pmsuspended';
const exists = (s: DomainState) => s !== 'absent';

/**
 * After a migration ended (finished, failed, cancelled, or found orphaned after a restart), decide from what
 * BOTH hosts say where the VM is, so that it runs on exactly one host: libvirt's own outcome wins, the source
 * is preferred whenever the target's copy never became the live one.
 *
 * `migrateSucceeded`: virsh migrate returned success (the destination resumed the guest).
 */
export function settle(source: DomainState, target: DomainState, migrateSucceeded: boolean, wasRunning = true): Settlement {
  const t = `source ${source}, target ${target}`;
  // The target runs and the source no longer does (or only paused, as after a post-copy switch-over): commitment happened.
  const active = (s: DomainState) => s === 'running' || s === 'blocked';
  if (active(target) && !active(source)) {
    return { vmOn: 'target', cleanup: exists(source) ? 'source' : null, resume: false, lost: false, why: `the target runs the VM (${t})` };
  }
  if (runs(source)) {
    // An incoming domain on the target never took over (paused incoming, or a stray copy): the source stays.
    return {
      vmOn: 'source',
      cleanup: exists(target) ? 'target' : null,
      resume: source === 'paused' && wasRunning,
      lost: false,
      why: runs(target) ? `both hosts had the domain (${t}): the source stays authoritative, the target copy is removed` : `the source still runs the VM (${t})`,
    };
  }
  if (target === 'paused' && !runs(source)) {
    // Post-copy or pause-and-copy finished on the destination but it is still paused.
    return { vmOn: 'target', cleanup: exists(source) ? 'source' : null, resume: wasRunning, lost: false, why: `the target holds the VM paused (${t})` };
  }
  // Neither runs it.
  if (!wasRunning || migrateSucceeded) {
    // A stopped VM (cold move): wherever its definition is.
    if (exists(target) && (!exists(source) || migrateSucceeded)) return { vmOn: 'target', cleanup: exists(source) ? 'source' : null, resume: false, lost: false, why: `the target holds the stopped VM (${t})` };
    if (exists(source)) return { vmOn: 'source', cleanup: exists(target) ? 'target' : null, resume: false, lost: false, why: `the source holds the stopped VM (${t})` };
  }
  if (exists(source)) return { vmOn: 'source', cleanup: exists(target) ? 'target' : null, resume: false, lost: false, why: `the VM is defined on the source but not running (${t})` };
  if (exists(target)) return { vmOn: 'target', cleanup: null, resume: false, lost: false, why: `the VM is defined on the target only (${t})` };
  return { vmOn: 'source', cleanup: null, resume: false, lost: true, why: `the VM's domain is on neither host (${t})` };
}
