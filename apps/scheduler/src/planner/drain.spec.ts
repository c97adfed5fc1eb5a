import { defaultFilters } from '../placement/filters';
import { Planner } from '../placement/planner';
import { leastLoadedPolicy } from '../placement/policies';
import { host, ID, request } from '../placement/test-utils/hosts';
import { planDrain } from './drain';

const placement = new Planner(defaultFilters(), leastLoadedPolicy());
const vmId = (n: number) => `00000000-0000-4000-9000-${String(n).padStart(12, '0')}`;
const drained = host({ id: ID(1), name: 'host-a', maintenance: 'draining', allocatedMemoryMiB: 6144, activeVms: 3 });
const vm = (n: number, memoryMiB = 2048, over = {}) => ({ vmId: vmId(n), request: request({ vmId: vmId(n), memoryMiB, ...over }) });

describe('planDrain', () => {
  it('requests a migration for every VM some other host can take, counting the ones before it', () => {
    const other = host({ id: ID(2), name: 'host-b', totalMemoryMiB: 4096 });
    const p = planDrain(placement, { host: drained, hosts: [drained, other], vms: [vm(1), vm(2), vm(3)], busy: new Set(), outgoing: 0 }, () => undefined);
    expect(p.request).toEqual([vmId(1), vmId(2)]);
    expect(p.blocked).toEqual([{ vmId: vmId(3), reason: expect.stringMatching(/^no host can take VM .*: no valid host among 1 host: 1 lacked memory/) }]);
    expect(p.drained).toBe(false);
  });

  it('never targets the drained host itself, and skips VMs already moving', () => {
    const p = planDrain(placement, { host: { ...drained, maintenance: null }, hosts: [{ ...drained, maintenance: null }], vms: [vm(1), vm(2)], busy: new Set([vmId(2)]), outgoing: 1 }, () => undefined);
    expect(p.request).toEqual([]);
    expect(p.blocked.map((b) => b.vmId)).toEqual([vmId(1)]);
  });

  it('respects anti-affinity', () => {
    const b = host({ id: ID(2), name: 'host-b' });
    const group = { name: 'web', policy: 'anti-affinity' as const };
    const p = planDrain(placement, { host: drained, hosts: [drained, b], vms: [vm(1, 512, { group })], busy: new Set(), outgoing: 0 }, () => new Set([ID(2)]));
    expect(p.blocked[0].reason).toMatch(/anti-affinity/);
  });

  it('is drained when no VM is left on the host and none is leaving it', () => {
    expect(planDrain(placement, { host: drained, hosts: [drained], vms: [], busy: new Set(), outgoing: 1 }, () => undefined).drained).toBe(false);
    expect(planDrain(placement, { host: drained, hosts: [drained], vms: [], busy: new Set(), outgoing: 0 }, () => undefined).drained).toBe(true);
  });
});
