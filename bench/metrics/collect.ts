/**
 * Collection cost on the lab: the real probe over one persistent SSH connection per host, BENCH_ROUNDS rounds per
 * host. Prints time per round (the first one includes the SSH handshake), payload bytes per round (command and
 * answer), and wire bytes per round measured on the host's own interface (includes SSH framing and encryption, and
 * any other traffic of that host at the same time).
 */
import 'reflect-metadata';
import { readFileSync } from 'fs';
import { join } from 'path';
import { SshPool } from '@minicloud/ssh';
import { CollectTarget, Collector } from '../../apps/metrics-collector/src/collection/collector';

const LAB_DIR = process.env.MINICLOUD_LAB_DIR ?? '/var/lib/minicloud-lab';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 20);

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function main() {
  const lab = JSON.parse(readFileSync(join(LAB_DIR, 'lab.json'), 'utf8')) as { hosts: { name: string; address: string; port: number; user: string }[] };
  const pool = new SshPool({ privateKeyPath: join(LAB_DIR, 'id_ed25519'), knownHostsPath: join(LAB_DIR, 'known_hosts') });
  const collector = new Collector((t, argv, timeoutMs) => pool.exec({ address: t.address, port: t.port, user: t.user }, [...argv], { timeoutMs }), {
    hostTimeoutMs: 8000,
    concurrency: 32,
    backoffBaseMs: 1000,
    backoffMaxMs: 1000,
  });
  const targets: (CollectTarget & { name: string })[] = lab.hosts.map((h, i) => ({ id: `00000000-0000-4000-8000-00000000000${i + 1}`, name: h.name, address: h.address, port: h.port, user: h.user }));
  const wire = async (t: CollectTarget) => {
    // eth0 counters of the host, read over the same connection (this read itself is excluded below).
    const r = await pool.exec(t, ['cat', '/proc/net/dev']);
    const m = /^\s*eth0:\s*(\d+)(?:\s+\d+){7}\s+(\d+)/m.exec(r.stdout);
    return { rx: Number(m?.[1] ?? 0), tx: Number(m?.[2] ?? 0), cost: Buffer.byteLength(r.stdout) };
  };
  process.stdout.write(`collection cost on the lab: ${ROUNDS} rounds per host, 1 s apart\n`);
  const results = [];
  for (const t of targets) {
    const first = await collector.collectOne(t);
    if (!first.ok) throw new Error(`${t.name}: ${first.error}`);
    const w0 = await wire(t);
    const times: number[] = [];
    const recv: number[] = [];
    let sent = 0;
    let vms = 0;
    for (let i = 0; i < ROUNDS; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const o = await collector.collectOne(t);
      if (!o.ok) throw new Error(`${t.name}: ${o.error}`);
      times.push(o.durationMs);
      recv.push(o.bytesReceived);
      sent = o.bytesSent;
      vms = o.vms?.length ?? 0;
    }
    const w1 = await wire(t);
    // Host tx = what we receive; subtract the one /proc/net/dev answer read in between.
    const wireIn = (w1.tx - w0.tx - w0.cost) / ROUNDS;
    const wireOut = (w1.rx - w0.rx) / ROUNDS;
    results.push({ host: t.name, vms, firstMs: first.durationMs, p50: pct(times, 50), p95: pct(times, 95), sent, recv: Math.round(recv.reduce((a, b) => a + b, 0) / recv.length), wireIn, wireOut });
  }
  await pool.close();
  const header = ['host', 'domains', 'first round ms (connect)', 'round p50 ms', 'round p95 ms', 'command B', 'answer B', 'wire in B/round', 'wire out B/round'];
  const lines = results.map((r) => [r.host, String(r.vms), String(r.firstMs), String(r.p50), String(r.p95), String(r.sent), String(r.recv), String(Math.round(r.wireIn)), String(Math.round(r.wireOut))]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) => '| ' + cells.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  process.stdout.write(row(header) + '\n' + row(widths.map((w) => '-'.repeat(w))) + '\n' + lines.map(row).join('\n') + '\n');
  process.stdout.write('wire bytes come from the host\'s eth0 counters and include any other traffic of that host meanwhile (the lab is shared).\n');
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + '\n');
  process.exit(1);
});
