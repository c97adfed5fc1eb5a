import { readFileSync } from 'fs';
import { join } from 'path';
import { HostKeyMismatchError, SshUnreachableError } from '@minicloud/ssh';
import { CollectTarget, Collector, ProbeExec, RoundOutcome } from './collector';
import { PROBE_ARGV } from './probe-script';

const fixture = (name: string) => readFileSync(join(__dirname, '__fixtures__', name), 'utf8');
const target = (n: number): CollectTarget => ({ id: `00000000-0000-4000-8000-00000000000${n}`, address: `10.254.7.${10 + n}`, port: 22, user: 'root' });
const A = target(1);
const B = target(2);

function ok(o: RoundOutcome) {
  if (!o.ok) throw new Error(`expected a good round, got ${o.kind}: ${o.error}`);
  return o;
}
function failed(o: RoundOutcome) {
  if (o.ok) throw new Error('expected a failed round');
  return o;
}

const opts = { hostTimeoutMs: 200, concurrency: 8, backoffBaseMs: 1000, backoffMaxMs: 8000 };

describe('Collector', () => {
  it('runs the one fixed probe command and publishes deltas from the second round on', async () => {
    const answers = [fixture('lab-h1.round1.txt'), fixture('lab-h1.round2.txt')];
    const calls: (readonly string[])[] = [];
    const exec: ProbeExec = async (_t, argv) => {
      calls.push(argv);
      return { stdout: answers.shift()!, stderr: '' };
    };
    const c = new Collector(exec, opts);
    const [first] = await c.round([A]);
    const [second] = await c.round([A]);
    expect(calls).toEqual([PROBE_ARGV, PROBE_ARGV]);
    expect(calls[0][0]).toBe('sh');
    expect(ok(first).host).not.toHaveProperty('cpuPercent');
    expect(ok(second).host.cpuPercent).toBe(99);
    expect(ok(second).vms![0].cpuPercent).toBe(96.85);
    expect(ok(second).bytesReceived).toBe(Buffer.byteLength(fixture('lab-h1.round2.txt')));
    expect(ok(second).bytesSent).toBeGreaterThan(300);
  });

  it('never lets a slow host delay the others: it times out alone and is busy until its command ends', async () => {
    let finishSlow: () => void = () => undefined;
    let slowCalls = 0;
    const exec: ProbeExec = (t) =>
      t.id === A.id && slowCalls++ === 0
        ? new Promise((resolve) => (finishSlow = () => resolve({ stdout: fixture('lab-h1.round1.txt'), stderr: '' })))
        : Promise.resolve({ stdout: fixture('lab-h2.foreign-domain.txt'), stderr: '' });
    const c = new Collector(exec, opts);
    const seen: [string, number][] = [];
    const t0 = Date.now();
    const outcomes = await c.round([A, B], (o) => void seen.push([o.hostId, Date.now() - t0]));
    expect(seen[0][0]).toBe(B.id);
    expect(seen[0][1]).toBeLessThan(100);
    expect(failed(outcomes[0])).toMatchObject({ kind: 'timeout', fatal: false, error: 'no answer within 200 ms' });
    expect(ok(outcomes[1]).host.memoryTotalMiB).toBeGreaterThan(0);
    // Still hanging: the next round does not pile a second command onto it.
    const [again] = await c.round([A]);
    expect(failed(again).kind).toBe('busy');
    finishSlow();
    await new Promise((r) => setImmediate(r));
    expect(ok((await c.round([A]))[0]).host.memoryTotalMiB).toBeGreaterThan(0);
  });

  it('runs at most `concurrency` hosts at once', async () => {
    let active = 0;
    let peak = 0;
    const exec: ProbeExec = async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 20));
      active--;
      return { stdout: fixture('lab-h2.foreign-domain.txt'), stderr: '' };
    };
    const c = new Collector(exec, { ...opts, concurrency: 2, hostTimeoutMs: 1000 });
    const hosts = [1, 2, 3, 4, 5, 6].map(target);
    const out = await c.round(hosts);
    expect(out.every((o) => o.ok)).toBe(true);
    expect(peak).toBe(2);
  });

  it('backs off an unreachable host (first retry next round, then longer) and recovers', async () => {
    let now = 1_000_000;
    let down = true;
    const exec: ProbeExec = async () => {
      if (down) throw new SshUnreachableError('root@10.254.7.11:22 is unreachable: ECONNREFUSED');
      return { stdout: fixture('lab-h1.round1.txt'), stderr: '' };
    };
    const c = new Collector(exec, { ...opts, now: () => now });
    expect(failed((await c.round([A]))[0])).toMatchObject({ kind: 'unreachable', fatal: false, error: expect.stringMatching(/ECONNREFUSED/) });
    now += 1000;
    expect(failed((await c.round([A]))[0]).kind).toBe('unreachable'); // retried at once
    now += 500;
    expect(failed((await c.round([A]))[0])).toMatchObject({ kind: 'backoff', error: expect.stringMatching(/after 2 failed rounds \(last: .*ECONNREFUSED/) });
    now += 1000;
    down = false;
    expect((await c.round([A]))[0].ok).toBe(true);
  });

  it('classifies a host key mismatch as fatal and garbage as a garbled round', async () => {
    const exec: ProbeExec = async (t) => {
      if (t.id === A.id) throw new HostKeyMismatchError('host key of root@10.254.7.11:22 does not match');
      return { stdout: 'Welcome!\n' + fixture('lab-h1.round1.txt'), stderr: '' };
    };
    const c = new Collector(exec, opts);
    const [a, b] = await c.round([A, B]);
    expect(failed(a)).toMatchObject({ kind: 'auth', fatal: true });
    expect(failed(b)).toMatchObject({ kind: 'garbled', fatal: false, error: expect.stringMatching(/not a probe answer/) });
  });

  it('starts a new delta chain after a garbled answer (no rate computed across garbage)', async () => {
    const answers = [fixture('lab-h1.round1.txt'), 'garbage', fixture('lab-h1.round2.txt')];
    const c = new Collector(async () => ({ stdout: answers.shift()!, stderr: '' }), opts);
    await c.round([A]);
    expect((await c.round([A]))[0].ok).toBe(false);
    expect(ok((await c.round([A]))[0]).host).not.toHaveProperty('cpuPercent');
  });
});
