import { host, ID, request } from '../test-utils/hosts';
import { ArchFilter } from './arch.filter';
import { CapacityFilter } from './capacity.filter';
import { ExcludeHostsFilter } from './exclude-hosts.filter';
import { GroupFilter } from './group.filter';
import { LoadFilter } from './load.filter';
import { MetricsFreshnessFilter } from './metrics-freshness.filter';

describe('LoadFilter (load caps)', () => {
  const f = new LoadFilter({ maxCpuPercent: 80, maxMemoryPercent: 85 });

  it('removes a host above the CPU or memory cap, keeps one at the cap or without metrics', () => {
    expect(f.passes(host({ cpuPercent: 80, memoryPercent: 85 }))).toBe(true);
    expect(f.passes(host({ cpuPercent: 80.1, memoryPercent: 10 }))).toBe(false);
    expect(f.passes(host({ cpuPercent: 10, memoryPercent: 85.5 }))).toBe(false);
    expect(f.passes(host({ cpuPercent: null, memoryPercent: null }))).toBe(true);
  });

  it('uses configured caps and explains which cap removed how many', () => {
    const strict = new LoadFilter({ maxCpuPercent: 50, maxMemoryPercent: 60 });
    expect(strict.passes(host({ cpuPercent: 55 }))).toBe(false);
    expect(f.describeRemoved([host({ cpuPercent: 95 }), host({ cpuPercent: 90, memoryPercent: 99 }), host({ memoryPercent: 90 })])).toBe(
      '3 were too loaded (2 CPU > 80 %, 2 memory > 85 %)',
    );
  });
});

describe('MetricsFreshnessFilter (host up = fresh metrics once the collector reports)', () => {
  const now = 1_000_000;
  const f = new MetricsFreshnessFilter(60_000, () => now);

  it('keeps hosts that never reported and hosts with a recent round; removes stale ones', () => {
    expect(f.passes(host({ metricsAt: null }))).toBe(true);
    expect(f.passes(host({ metricsAt: now - 60_000 }))).toBe(true);
    expect(f.passes(host({ metricsAt: now - 60_001 }))).toBe(false);
    expect(f.describeRemoved([host()])).toBe('1 had no fresh metrics (last report older than 60 s)');
  });
});

describe('ArchFilter (image/arch compatibility)', () => {
  const f = new ArchFilter();
  it('keeps every host when the image names no arch, else only matching hosts', () => {
    expect(f.passes(host({ arch: 'aarch64' }), request())).toBe(true);
    expect(f.passes(host({ arch: 'aarch64' }), request({ arch: 'x86_64' }))).toBe(false);
    expect(f.passes(host({ arch: 'x86_64' }), request({ arch: 'x86_64' }))).toBe(true);
    expect(f.describeRemoved([host({ arch: 'aarch64' }), host({ arch: 'aarch64' })], request({ arch: 'x86_64' }))).toBe(
      "2 had another architecture than the image's x86_64 (2 aarch64)",
    );
  });
});

describe('GroupFilter (affinity and anti-affinity)', () => {
  const aff = new GroupFilter('affinity');
  const anti = new GroupFilter('anti-affinity');
  const members = new Set([ID(1)]);

  it('affinity: the first member goes anywhere, the next only where members run', () => {
    const req = request({ group: { name: 'db', policy: 'affinity' }, groupHosts: new Set() });
    expect(aff.passes(host({ id: ID(2) }), req)).toBe(true);
    const next = request({ group: { name: 'db', policy: 'affinity' }, groupHosts: members });
    expect(aff.passes(host({ id: ID(1) }), next)).toBe(true);
    expect(aff.passes(host({ id: ID(2) }), next)).toBe(false);
    expect(anti.passes(host({ id: ID(1) }), next)).toBe(true); // not its policy
    expect(aff.describeRemoved([host()], next)).toBe('1 was not the host of group db (affinity)');
  });

  it('anti-affinity: never a host that already runs a member', () => {
    const req = request({ group: { name: 'web', policy: 'anti-affinity' }, groupHosts: members });
    expect(anti.passes(host({ id: ID(1) }), req)).toBe(false);
    expect(anti.passes(host({ id: ID(2) }), req)).toBe(true);
    expect(anti.describeRemoved([host(), host()], req)).toBe('2 already run a member of group web (anti-affinity)');
    expect(anti.appliesTo(request())).toBe(false);
  });
});

describe('ExcludeHostsFilter (build retry on an alternate host)', () => {
  it('removes the hosts of earlier failed attempts', () => {
    const f = new ExcludeHostsFilter();
    expect(f.passes(host({ id: ID(1) }), request({ excludeHosts: [ID(1)] }))).toBe(false);
    expect(f.passes(host({ id: ID(2) }), request({ excludeHosts: [ID(1)] }))).toBe(true);
    expect(f.describeRemoved([host()])).toBe("1 already failed this VM's build");
  });
});

describe('CapacityFilter and reservations', () => {
  it('a non-preemptible VM may not use capacity held for a reservation; a preemptible one may', () => {
    const f = new CapacityFilter('memory');
    const h = host({ totalMemoryMiB: 8192, allocatedMemoryMiB: 2048, reservedMemoryMiB: 4096 });
    expect(f.passes(h, request({ memoryMiB: 4096 }))).toBe(false);
    expect(f.passes(h, request({ memoryMiB: 2048 }))).toBe(true);
    expect(f.passes(h, request({ memoryMiB: 6144, preemptible: true }))).toBe(true);
    expect(f.describeRemoved([h], request({ memoryMiB: 4096 }))).toBe('1 lacked memory (need 4096 MiB, best free 2048 MiB)');
  });

  it('preemptible VMs do not count against the reserved capacity of non-preemptible ones', () => {
    const f = new CapacityFilter('memory');
    // 8 GiB: 2 GiB non-preemptible + 4 GiB preemptible, 2 GiB reserved: 2 GiB free (were the preemptible VMs
    // counted against the reservation, nothing would be).
    const h = host({ totalMemoryMiB: 8192, allocatedMemoryMiB: 6144, preemptibleMemoryMiB: 4096, reservedMemoryMiB: 2048 });
    expect(f.passes(h, request({ memoryMiB: 2048 }))).toBe(true);
    expect(f.passes(h, request({ memoryMiB: 2049 }))).toBe(false);
  });
});
