import { readFileSync } from 'fs';
import { join } from 'path';
import { parseProbe, ProbeParseError, parseCpuLine, parseNetDev, parseDomStats, parseMemInfo, parseLoadAvg } from './parsers';
import { hostValues, vmSamples, vmIdOfDomain } from './rates';

/** Captured from the lab hosts with the real probe script (see probe-script.ts). */
const fixture = (name: string) => readFileSync(join(__dirname, '__fixtures__', name), 'utf8');
const VM = '3f0c2a58-9d6e-4c1b-8a57-5e2f3c1d0b01';

describe('probe parsers on real lab output', () => {
  it('reads every section of a host running a VM', () => {
    const r = parseProbe(fixture('lab-h1.round1.txt'));
    expect(r.uptimeSeconds).toBe(2307.84);
    expect(r.cpu).toEqual({ user: 95598, nice: 0, system: 16258, idle: 345296, iowait: 965, irq: 0, softirq: 494, steal: 55 });
    expect(r.memory).toEqual({ totalKiB: 24683656, availableKiB: 23224200 });
    expect(r.disk).toEqual({ totalBytes: 270553174016, usedBytes: expect.any(Number) });
    // eth0 only: lo and the VM's tap (vnet2) are not the host's own traffic.
    expect(r.net).toEqual({ rxBytes: 123711545, txBytes: 455476883 });
    expect(r.problems).toEqual([]);
    expect(r.domains).toEqual([
      {
        domain: `mc-${VM}`,
        stateCode: 1,
        cpuTimeNs: 24250000000,
        vcpus: 1,
        balloonCurrentKiB: 131072,
        balloonMaximumKiB: 131072,
        balloonRssKiB: expect.any(Number),
        balloonUsableKiB: 54880,
        blockReadBytes: expect.any(Number),
        blockWriteBytes: 788529152,
        netRxBytes: expect.any(Number),
        netTxBytes: expect.any(Number),
      },
    ]);
  });

  it('computes utilisation and rates from two consecutive rounds over the host clock', () => {
    const a = parseProbe(fixture('lab-h1.round1.txt'));
    const b = parseProbe(fixture('lab-h1.round2.txt'));
    const h = hostValues(b, a);
    // busy 470 user + 27 system of 502 jiffies.
    expect(h.cpuPercent).toBe(99.0);
    expect(h.netRxBytesPerSec).toBe(Math.round((5871 / 2.54) * 100) / 100);
    expect(h.netTxBytesPerSec).toBe(Math.round((7345 / 2.54) * 100) / 100);
    expect(h.memoryTotalMiB).toBe(24105.13);
    expect(h.memoryAvailableMiB).toBe(22605.27);
    expect(h.memoryUsedPercent).toBe(6.22);
    expect(h.vmCount).toBe(1);
    expect(h.load1).toBeGreaterThan(0);
    const [vm] = vmSamples(b, a);
    expect(vm).toMatchObject({ domain: `mc-${VM}`, vmId: VM, state: 'running', vcpus: 1, memoryCurrentMiB: 128, memoryMaxMiB: 128 });
    // The guest loops dirtying memory: (26.71 s - 24.25 s) of CPU in 2.54 s.
    expect(vm.cpuPercent).toBe(96.85);
    expect(vm.diskWriteBytesPerSec).toBe(Math.round(((889192448 - 788529152) / 2.54) * 100) / 100);
    expect(vm.memoryUsableMiB).toBeCloseTo(50928 / 1024, 2);
  });

  it('leaves deltas absent on the first round, never 0', () => {
    const r = parseProbe(fixture('lab-h1.round1.txt'));
    const h = hostValues(r, undefined);
    expect(h).not.toHaveProperty('cpuPercent');
    expect(h).not.toHaveProperty('netRxBytesPerSec');
    expect(h).not.toHaveProperty('netTxBytesPerSec');
    const [vm] = vmSamples(r, undefined);
    for (const k of ['cpuPercent', 'diskReadBytesPerSec', 'diskWriteBytesPerSec', 'netRxBytesPerSec', 'netTxBytesPerSec']) expect(vm).not.toHaveProperty(k);
  });

  it('leaves deltas absent after a reboot (uptime went back) or a counter reset', () => {
    const a = parseProbe(fixture('lab-h1.round2.txt'));
    const b = parseProbe(fixture('lab-h1.round1.txt'));
    const h = hostValues(b, a);
    expect(h).not.toHaveProperty('cpuPercent');
    expect(h).not.toHaveProperty('netRxBytesPerSec');
    const reset = { ...a, uptimeSeconds: a.uptimeSeconds + 10, domains: a.domains!.map((d) => ({ ...d, cpuTimeNs: 1, blockWriteBytes: 0 })) };
    const [vm] = vmSamples(reset, a);
    expect(vm).not.toHaveProperty('cpuPercent');
    expect(vm).not.toHaveProperty('diskWriteBytesPerSec');
    expect(vm.diskReadBytesPerSec).toBe(0);
  });

  it('keeps domains that are not minicloud VMs, without a VM id', () => {
    const r = parseProbe(fixture('lab-h2.foreign-domain.txt'));
    expect(r.domains!.map((d) => d.domain)).toEqual(['dbg']);
    expect(vmSamples(r, undefined)[0]).toEqual(expect.objectContaining({ domain: 'dbg', state: 'running' }));
    expect(vmSamples(r, undefined)[0]).not.toHaveProperty('vmId');
    expect(vmIdOfDomain('mc-smoke-7855')).toBeUndefined();
    expect(vmIdOfDomain(`mc-${VM}`)).toBe(VM);
  });

  it('reports a host whose libvirt does not answer: host values kept, VM values and count absent', () => {
    const r = parseProbe(fixture('lab-h2.virsh-fails.txt'));
    expect(r.domains).toBeUndefined();
    expect(r.problems).toEqual([expect.stringMatching(/^virsh domstats failed: error: failed to connect to the hypervisor/)]);
    const h = hostValues(r, undefined);
    expect(h).not.toHaveProperty('vmCount');
    expect(h.memoryTotalMiB).toBeGreaterThan(0);
    expect(vmSamples(r, undefined)).toEqual([]);
  });

  it('reports a missing image store: disk fields absent with the reason', () => {
    const r = parseProbe(fixture('lab-h2.df-fails.txt'));
    expect(r.disk).toBeUndefined();
    expect(r.problems).toEqual(['df of the image store failed: df: /var/lib/minicloud: No such file or directory']);
    expect(hostValues(r, undefined)).not.toHaveProperty('diskTotalBytes');
  });
});

describe('probe parsers on garbage', () => {
  const good = fixture('lab-h1.round1.txt');
  const cases: [string, string][] = [
    ['empty answer', ''],
    ['a shell error instead of the probe', 'sh: 1: Syntax error: Unterminated quoted string\n'],
    ['a truncated answer', good.slice(0, good.length / 2)],
    ['a MOTD before the header', `Welcome to lab\n${good}`],
    ['a non-numeric cpu field', good.replace(/^cpu {2}\d+/m, 'cpu  12x4')],
    ['a per-cpu line in the stat section', good.replace(/^(cpu .*)$/m, '$1\ncpu0 1 2 3 4 5 6 7 8 0 0')],
    ['a broken loadavg', good.replace(/^\d+\.\d+ \d+\.\d+ \d+\.\d+ \d+\/\d+ \d+$/m, 'load: high')],
    ['meminfo without MemAvailable', good.replace(/^MemAvailable:.*\n/m, '')],
    ['meminfo with available > total', good.replace(/^MemAvailable:\s+\d+ kB$/m, 'MemAvailable:   99999999999 kB')],
    ['df output without the header', good.replace(/^Filesystem .*\n/m, '')],
    ['a netdev line with too few counters', good.replace(/^(\s*eth0:\s+\d+\s+\d+).*$/m, '$1')],
    ['a domstats line that is not key=value', good.replace(/^ {2}cpu\.time=.*$/m, '  cpu.time')],
    ['a domstats value that is not a number', good.replace(/^ {2}cpu\.time=\d+$/m, '  cpu.time=-5')],
    ['a domain without state', good.replace(/^ {2}state\.state=.*\n/m, '')],
    ['a missing section', good.replace(/==loadavg==\n.*\n/, '')],
    ['a duplicated section', good.replace('==end==', '==uptime==\n1 2\n==end==')],
    ['a wrong probe version', good.replace('==minicloud-probe v1==', '==minicloud-probe v9==')],
  ];
  it.each(cases)('refuses %s', (_what, text) => {
    expect(() => parseProbe(text)).toThrow(ProbeParseError);
  });

  it('names what was wrong', () => {
    expect(() => parseCpuLine(['cpu  1 2 3'])).toThrow('stat: not an aggregate cpu line');
    expect(() => parseNetDev(['garbage'])).toThrow('netdev: header missing');
    expect(() => parseDomStats(['Domain: x', '==domstats-exit 0=='])).toThrow(/domstats: unexpected line/);
    expect(() => parseMemInfo(['MemTotal: lots'])).toThrow(/meminfo: unexpected line/);
    expect(() => parseLoadAvg(['1 2 3'])).toThrow(/loadavg: unexpected/);
  });
});
