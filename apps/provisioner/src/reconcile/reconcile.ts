import { canTransition, VmState } from '@minicloud/contracts';
import { domainName, DomainState } from '@minicloud/hypervisor';

export interface RecordedVm {
  id: string;
  state: VmState;
}

export interface ObservedDomain {
  uuid: string;
  name: string;
  state: DomainState;
}

export interface VmStateChange {
  vmId: string;
  from: VmState;
  to: VmState;
  reason: string;
}

export interface HostDiff {
  changes: VmStateChange[];
  /** `mc-*` domains no VM of this host accounts for: reported, never deleted. */
  unknown: ObservedDomain[];
}

/** States in which the provisioner (or migrator) is itself moving the VM: reconciliation leaves them alone. */
const IN_FLIGHT: readonly VmState[] = ['requested', 'scheduled', 'provisioning', 'stopping', 'deleting', 'migrating'];

/**
 * Compares what the provisioner recorded for one host's VMs with the domains really there.
 *  - recorded running/stopped/suspended, domain gone → failed ("domain mc-<id> disappeared from host <name>");
 *  - recorded running, domain shut off → stopped ("stopped outside minicloud"); paused → suspended;
 *  - recorded stopped, domain running → running; recorded suspended, domain running → running, shut off → stopped;
 *  - recorded failed, domain running → running (it is there after all);
 *  - an `mc-*` domain no recorded VM of this host accounts for (or whose VM is deleted) → unknown.
 * `knownElsewhere`: VM ids legitimately on this host without being recorded here (a migration in flight).
 */
export function diffHost(hostName: string, recorded: RecordedVm[], observed: ObservedDomain[], knownElsewhere: ReadonlySet<string> = new Set()): HostDiff {
  const byName = new Map(observed.map((d) => [d.name, d]));
  const changes: VmStateChange[] = [];
  const accounted = new Set<string>();
  for (const vm of recorded) {
    const name = domainName(vm.id);
    const dom = byName.get(name);
    if (vm.state !== 'deleted') accounted.add(name);
    if (IN_FLIGHT.includes(vm.state) || vm.state === 'deleted') continue;
    const to = (next: VmState, reason: string) => {
      if (next !== vm.state && canTransition(vm.state, next)) changes.push({ vmId: vm.id, from: vm.state, to: next, reason });
    };
    if (!dom) {
      if (vm.state === 'running' || vm.state === 'stopped' || vm.state === 'suspended') to('failed', `domain ${name} disappeared from host ${hostName}`);
      continue;
    }
    const s = dom.state;
    const running = s === 'running' || s === 'blocked';
    const off = s === 'shutoff' || s === 'crashed';
    const paused = s === 'paused' || s === 'pmsuspended';
    switch (vm.state) {
      case 'running':
        if (off) to('stopped', s === 'crashed' ? 'crashed outside minicloud' : 'stopped outside minicloud');
        else if (paused) to('suspended', 'suspended outside minicloud');
        break;
      case 'stopped':
        if (running) to('running', 'started outside minicloud');
        break;
      case 'suspended':
        if (running) to('running', 'resumed outside minicloud');
        else if (off) to('stopped', 'stopped outside minicloud');
        break;
      case 'failed':
        if (running) to('running', `domain ${name} found running on host ${hostName}`);
        break;
    }
  }
  const unknown = observed.filter((d) => d.name.startsWith('mc-') && !accounted.has(d.name) && !knownElsewhere.has(d.uuid));
  return { changes, unknown };
}
