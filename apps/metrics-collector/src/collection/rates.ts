/**
 * Turns two consecutive probe results of one host into the values a round publishes. Utilisation and rates are
 * deltas between rounds over the host's own clock (/proc/uptime): on the first round, after a reboot (uptime went
 * back) or a counter reset, those fields are absent — never 0, never a guess.
 */
import type { EventBody, Subjects, VmMetricsSample } from '@minicloud/contracts';
import { CpuTimes, DomainStats, domainStateName, ProbeResult } from './parsers';

export type HostValues = Omit<EventBody<typeof Subjects.HostMetrics>, 'hostId'>;

const MIB = 1024;
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Domains are named mc-<vmId> with the VM id as UUID (docs/architecture.md). Other domains have no VM id. */
export function vmIdOfDomain(name: string): string | undefined {
  const m = /^mc-(.+)$/.exec(name);
  return m && UUID_RE.test(m[1]) ? m[1] : undefined;
}

function round(n: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function busy(c: CpuTimes): number {
  return c.user + c.nice + c.system + c.irq + c.softirq + c.steal;
}

function total(c: CpuTimes): number {
  return busy(c) + c.idle + c.iowait;
}

/** CPU busy % between two cpu lines; undefined when the counters did not move forward. */
export function cpuPercent(prev: CpuTimes, cur: CpuTimes): number | undefined {
  const dt = total(cur) - total(prev);
  const db = busy(cur) - busy(prev);
  if (dt <= 0 || db < 0 || db > dt) return undefined;
  return round((db / dt) * 100);
}

/** Bytes per second of a monotonic counter; undefined when it went back (reset) or no time passed. */
export function rate(prev: number | undefined, cur: number | undefined, seconds: number): number | undefined {
  if (prev === undefined || cur === undefined || !(seconds > 0) || cur < prev) return undefined;
  return round((cur - prev) / seconds);
}

export function hostValues(cur: ProbeResult, prev: ProbeResult | undefined): HostValues {
  const v: HostValues = {
    load1: cur.load.load1,
    load5: cur.load.load5,
    load15: cur.load.load15,
    memoryTotalMiB: round(cur.memory.totalKiB / MIB),
    memoryAvailableMiB: round(cur.memory.availableKiB / MIB),
    memoryUsedPercent: round(((cur.memory.totalKiB - cur.memory.availableKiB) / cur.memory.totalKiB) * 100),
  };
  if (cur.disk) {
    v.diskTotalBytes = cur.disk.totalBytes;
    v.diskUsedBytes = cur.disk.usedBytes;
  }
  if (cur.domains) v.vmCount = cur.domains.filter((d) => d.stateCode === 1 || d.stateCode === 2 || d.stateCode === 3).length;
  const dt = prev ? cur.uptimeSeconds - prev.uptimeSeconds : 0;
  if (prev && dt > 0) {
    const cpu = cpuPercent(prev.cpu, cur.cpu);
    if (cpu !== undefined) v.cpuPercent = cpu;
    const rx = rate(prev.net.rxBytes, cur.net.rxBytes, dt);
    const tx = rate(prev.net.txBytes, cur.net.txBytes, dt);
    if (rx !== undefined) v.netRxBytesPerSec = rx;
    if (tx !== undefined) v.netTxBytesPerSec = tx;
  }
  return v;
}

/**
 * Per-domain values. CPU % is of the domain's own vCPUs (cpu.time over elapsed × vCPUs); it can exceed 100
 * briefly because cpu.time includes QEMU's emulator threads.
 */
export function vmSamples(cur: ProbeResult, prev: ProbeResult | undefined): VmMetricsSample[] {
  if (!cur.domains) return [];
  const dt = prev ? cur.uptimeSeconds - prev.uptimeSeconds : 0;
  const before = new Map<string, DomainStats>((prev?.domains ?? []).map((d) => [d.domain, d]));
  return cur.domains.map((d) => {
    const s: VmMetricsSample = { domain: d.domain, state: domainStateName(d.stateCode) };
    const vmId = vmIdOfDomain(d.domain);
    if (vmId) s.vmId = vmId;
    if (d.vcpus !== undefined) s.vcpus = d.vcpus;
    if (d.balloonCurrentKiB !== undefined) s.memoryCurrentMiB = round(d.balloonCurrentKiB / MIB);
    if (d.balloonMaximumKiB !== undefined) s.memoryMaxMiB = round(d.balloonMaximumKiB / MIB);
    if (d.balloonRssKiB !== undefined) s.memoryRssMiB = round(d.balloonRssKiB / MIB);
    if (d.balloonUsableKiB !== undefined) s.memoryUsableMiB = round(d.balloonUsableKiB / MIB);
    const p = before.get(d.domain);
    if (p && dt > 0) {
      if (p.cpuTimeNs !== undefined && d.cpuTimeNs !== undefined && d.cpuTimeNs >= p.cpuTimeNs && d.vcpus) {
        s.cpuPercent = round(((d.cpuTimeNs - p.cpuTimeNs) / (dt * 1e9 * d.vcpus)) * 100);
      }
      const set = (k: 'diskReadBytesPerSec' | 'diskWriteBytesPerSec' | 'netRxBytesPerSec' | 'netTxBytesPerSec', v: number | undefined) => {
        if (v !== undefined) s[k] = v;
      };
      set('diskReadBytesPerSec', rate(p.blockReadBytes, d.blockReadBytes, dt));
      set('diskWriteBytesPerSec', rate(p.blockWriteBytes, d.blockWriteBytes, dt));
      set('netRxBytesPerSec', rate(p.netRxBytes, d.netRxBytes, dt));
      set('netTxBytesPerSec', rate(p.netTxBytes, d.netTxBytes, dt));
    }
    return s;
  });
}
