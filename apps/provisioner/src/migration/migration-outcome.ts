import type { VmState } from '@minicloud/contracts';
import type { DomainState } from '@minicloud/hypervisor';

export interface MigrationOutcome {
  /** The states the VM goes through from `migrating` (usually one; a paused domain is running → suspended). */
  path: VmState[];
  /** Said in the state event when the host's answer decided something unexpected. */
  note?: string;
}

/**
 * Where a VM ends after its migration ended, on the host it is on now (the target after migration.completed,
 * vmHostId after migration.failed). `domain` is what that host says (undefined: not asked, unreachable or in
 * between states); `before` the state the VM had before `migrating`. The host's word wins; without it the VM goes
 * back to what it was (running for a live migration, stopped for a stopped VM).
 */
export function migrationOutcome(before: VmState | null | undefined, domain: DomainState | undefined, hostName: string, domainName: string): MigrationOutcome {
  switch (domain) {
    case 'running':
    case 'blocked':
      return { path: ['running'] };
    case 'paused':
    case 'pmsuspended':
      return { path: ['running', 'suspended'], note: `its domain is paused on ${hostName}` };
    case 'shutoff':
    case 'crashed':
      return before === 'stopped' ? { path: ['stopped'] } : { path: ['stopped'], note: `its domain is ${domain === 'crashed' ? 'crashed' : 'shut off'} on ${hostName}` };
    case 'absent':
      return { path: ['failed'], note: `its domain ${domainName} is not on ${hostName}` };
    default:
      return { path: [before === 'stopped' ? 'stopped' : 'running'] };
  }
}
