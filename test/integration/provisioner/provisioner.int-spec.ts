/**
 * The provisioner against the real lab (infra/lab: `bash infra/lab/lab.sh up 2` and `bash infra/lab/image/build.sh`):
 * registers lab host 1 over SSH, registers the lab image, delivers vm.scheduled and checks the VM is running on the
 * host (virsh domstate over SSH) and printed its BOOTED line, then deletes the test VM.
 *
 * Isolation: a private nats-server (JetStream in a temp dir) and a throwaway Postgres database, both removed after.
 */
import { ChildProcess, spawn } from 'child_process';
import { createHash, randomUUID } from 'crypto';
import { copyFileSync, createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import type { INestApplicationContext } from '@nestjs/common';
import type { HostView, ImageView, VmConsoleReply, VmStateChangedEvent } from '@minicloud/contracts';
import { makeEvent, Rpc, Subjects } from '@minicloud/contracts';
import { Bus, RpcError } from '@minicloud/messaging';
import { SshPool, SshTarget } from '@minicloud/ssh';
import { LibvirtDriver } from '@minicloud/hypervisor';
import { until as waitUntil } from '../../support/wait';
import { freePort } from '../../support/nats-server';

jest.setTimeout(300_000);

const LAB = process.env.MINICLOUD_LAB_DIR ?? '/var/lib/minicloud-lab';
const LAB_JSON = join(LAB, 'lab.json');
const IMAGE = join(LAB, 'images', 'minicloud-lab.qcow2');

interface LabHost { name: string; address: string; port: number; user: string; hostKey: string }


async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

const until = <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 500) =>
  waitUntil(what, fn, timeoutMs, everyMs, { retryErrors: true });

describe('provisioner against the lab', () => {
  let hosts: LabHost[];
  let nats: ChildProcess;
  let natsDir: string;
  let dbName: string;
  let app: INestApplicationContext;
  let bus: Bus;
  let pool: SshPool;
  const events: VmStateChangedEvent[] = [];
  const hostEvents: { hostId: string }[] = [];
  const createdVms: string[] = [];
  let host: HostView;
  let image: ImageView;
  let h1: SshTarget;

  beforeAll(async () => {
    if (!existsSync(LAB_JSON)) throw new Error(`the lab is not up: ${LAB_JSON} is missing (run: bash infra/lab/lab.sh up 2)`);
    if (!existsSync(IMAGE)) throw new Error(`the lab image is missing: ${IMAGE} (run: bash infra/lab/image/build.sh)`);
    hosts = JSON.parse(readFileSync(LAB_JSON, 'utf8')).hosts;
    if (hosts.length < 2) throw new Error('the lab needs 2 hosts (bash infra/lab/lab.sh up 2)');
    h1 = { address: hosts[0].address, port: hosts[0].port, user: hosts[0].user, hostKey: hosts[0].hostKey };

    // Known hosts for this run: the lab's, plus two deliberate traps (a closed port, a wrong key for host 2).
    natsDir = mkdtempSync(join(tmpdir(), 'mc-it-prov-'));
    const kh = join(natsDir, 'known_hosts');
    copyFileSync(join(LAB, 'known_hosts'), kh);
    writeFileSync(kh, `\n[${hosts[0].address}]:2222 ${hosts[0].hostKey}\n${hosts[1].address} ${hosts[0].hostKey}\n`, { flag: 'a' });
    // ...but host 2's real key must not also be accepted: drop its own lines.
    writeFileSync(kh, readFileSync(kh, 'utf8').split('\n').filter((l) => !(l.startsWith(`${hosts[1].address} `) && l.includes(hosts[1].hostKey.split(' ')[1]))).join('\n'));

    const port = await freePort();
    nats = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(natsDir, 'js')], { stdio: 'ignore' });
    dbName = `minicloud_it_prov_${process.pid}`;
    Object.assign(process.env, {
      NATS_URL: `nats://127.0.0.1:${port}`,
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${dbName}`,
      OTEL_SDK_DISABLED: 'true',
      LOG_LEVEL: 'warn',
      MINICLOUD_SSH_KNOWN_HOSTS: kh,
    });
    await until('nats-server', async () => ((await Bus.connect({ name: 'it-probe' }).then((b) => b.close().then(() => true))) ? true : undefined), 10_000, 200);

    const { NestFactory } = await import('@nestjs/core');
    const { AppModule } = await import('../../../apps/provisioner/src/app.module');
    app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
    await app.init();

    bus = await Bus.connect({ name: 'it-provisioner' });
    const sub = bus.nc.subscribe(Subjects.VmStateChanged);
    void (async () => {
      for await (const m of sub) events.push(JSON.parse(m.string()));
    })();
    const hsub = bus.nc.subscribe(Subjects.HostRegistered);
    void (async () => {
      for await (const m of hsub) hostEvents.push(JSON.parse(m.string()));
    })();
    pool = new SshPool();
  });

  afterAll(async () => {
    // Delete every VM this test created, whatever happened.
    if (pool && h1) {
      const driver = new LibvirtDriver(pool.bind(h1));
      for (const id of createdVms) await driver.deleteVm(id).catch((e) => console.error(`cleanup of ${id} failed: ${e.message}`));
    }
    await pool?.close();
    await bus?.close();
    await app?.close();
    nats?.kill('SIGTERM');
    if (dbName) {
      const c = new Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await c.end();
    }
    if (natsDir) rmSync(natsDir, { recursive: true, force: true });
  });

  const rpc = <T>(subject: (typeof Rpc)[keyof typeof Rpc], body: object) => bus.request<T>(subject, body, 120_000);
  const rpcError = (subject: (typeof Rpc)[keyof typeof Rpc], body: object) => rpc(subject, body).then(() => { throw new Error('expected an error'); }, (e) => e as RpcError);
  const stateOf = (vmId: string) => events.filter((e) => e.vmId === vmId).map((e) => `${e.state}@${e.generation}`);
  const ssh = (argv: string[]) => pool.exec(h1, argv, { timeoutMs: 30_000 });

  it('registers lab host 1 over SSH with discovered facts, and again idempotently', async () => {
    host = await rpc<HostView>(Rpc.HostRegister, { address: hosts[0].address, name: 'it-lab-h1' });
    expect(host).toMatchObject({ name: 'it-lab-h1', address: hosts[0].address, sshPort: 22, sshUser: 'root', state: 'up' });
    const nproc = Number((await ssh(['nproc'])).stdout.trim());
    expect(host.facts.cpus).toBe(nproc);
    expect(host.facts.memoryMiB).toBeGreaterThan(256);
    expect(host.facts.diskGiB).toBeGreaterThan(0);
    expect(host.facts.arch).toBe('x86_64');
    expect(host.facts.hypervisorVersion).toMatch(/^QEMU \d+\.\d+/);
    expect(host.facts.libvirtVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(host.facts.cpuModel.length).toBeGreaterThan(0);
    await until('host.registered', async () => (hostEvents.some((e) => e.hostId === host.id) ? true : undefined), 5000);
    const again = await rpc<HostView>(Rpc.HostRegister, { address: hosts[0].address });
    expect(again.id).toBe(host.id);
    expect(again.name).toBe('it-lab-h1');
  });

  it('refuses unreachable hosts and wrong host keys with 422 saying which', async () => {
    const closed = await rpcError(Rpc.HostRegister, { address: hosts[0].address, sshPort: 2222 });
    expect(closed.status).toBe(422);
    expect(closed.message).toMatch(/unreachable/);
    const wrongKey = await rpcError(Rpc.HostRegister, { address: hosts[1].address });
    expect(wrongKey.status).toBe(422);
    expect(wrongKey.message).toMatch(/host key mismatch.*does not match/);
    const unknown = await rpcError(Rpc.HostRegister, { address: '10.254.7.250' });
    expect(unknown.status).toBe(422);
    expect(unknown.message).toMatch(/no host key .* never trusted on first use/);
    const bad = await rpcError(Rpc.HostRegister, { address: 'x; rm -rf /' });
    expect(bad.status).toBe(400);
  });

  it('registers the lab image with its kernel and initrd found beside it', async () => {
    image = await rpc<ImageView>(Rpc.ImageRegister, { name: 'it-minicloud-lab', path: IMAGE });
    expect(image).toMatchObject({
      name: 'it-minicloud-lab',
      format: 'qcow2',
      checksum: await sha256(IMAGE),
      kernelPath: join(LAB, 'images', 'minicloud-lab.vmlinuz'),
      initrdPath: join(LAB, 'images', 'minicloud-lab.initrd'),
      cmdline: 'console=ttyS0 root=/dev/vda rw',
      arch: 'x86_64',
    });
    expect(image.virtualSizeBytes).toBeGreaterThan(0);
    expect((await rpc<ImageView>(Rpc.ImageRegister, { name: 'it-minicloud-lab', path: IMAGE })).id).toBe(image.id);
    const missing = await rpcError(Rpc.ImageRegister, { name: 'it-nope', path: '/nonexistent/x.qcow2' });
    expect(missing.status).toBe(422);
    expect(missing.message).toMatch(/does not exist/);
  });

  it('builds a scheduled VM on the host: running, booted, over a half-built leftover; redelivery does nothing', async () => {
    const vmId = randomUUID();
    createdVms.push(vmId);
    // A crashed earlier attempt left a directory with a garbage disk: it must be rebuilt cleanly.
    await ssh(['mkdir', '-p', `/var/lib/minicloud/vms/${vmId}`]);
    await pool.exec(h1, ['cp', '/dev/stdin', `/var/lib/minicloud/vms/${vmId}/disk.qcow2`], { stdin: 'garbage' });

    const e = makeEvent(Subjects.VmScheduled, {
      vmId,
      name: 'it-prov-vm1',
      hostId: host.id,
      resources: { vcpus: 1, memoryMiB: 128, diskGiB: 1 },
      image: { id: image.id, name: image.name, checksum: image.checksum },
      reason: 'integration test',
      attempt: 1,
    });
    await bus.publish(Subjects.VmScheduled, e);
    await until('running', async () => (stateOf(vmId).includes('running@3') ? true : undefined), 180_000);
    expect(stateOf(vmId)).toEqual(['provisioning@2', 'running@3']);
    expect(events.find((x) => x.vmId === vmId && x.state === 'running')?.hostId).toBe(host.id);

    expect((await ssh(['virsh', '-c', 'qemu:///system', 'domstate', `mc-${vmId}`])).stdout.trim()).toBe('running');
    const xml = (await ssh(['virsh', '-c', 'qemu:///system', 'dumpxml', `mc-${vmId}`])).stdout;
    expect(xml).toContain(`<uuid>${vmId}</uuid>`);
    expect(xml).toContain('<title>it-prov-vm1</title>');
    const disk = JSON.parse((await ssh(['qemu-img', 'info', '-U', '--output=json', `/var/lib/minicloud/vms/${vmId}/disk.qcow2`])).stdout);
    expect(disk['backing-filename']).toBe(`/var/lib/minicloud/images/${image.checksum}.qcow2`);
    expect(disk['virtual-size']).toBe(1024 ** 3);
    expect((await ssh(['sha256sum', '--', `/var/lib/minicloud/images/${image.checksum}.qcow2`])).stdout.split(' ')[0]).toBe(image.checksum);

    const booted = await until(
      'the BOOTED line on the console',
      async () => {
        const c = await rpc<VmConsoleReply>(Rpc.VmConsole, { vmId, lines: 200 });
        return c.lines.some((l) => l.includes('MINICLOUD-GUEST BOOTED hostname=')) ? c : undefined;
      },
      120_000,
      2000,
    );
    expect(booted.hostId).toBe(host.id);

    // Scheduled again (a duplicate scheduling): the running VM is left alone, running is re-announced as is.
    const domid = (await ssh(['virsh', '-c', 'qemu:///system', 'domid', `mc-${vmId}`])).stdout.trim();
    await bus.publish(Subjects.VmScheduled, { ...e, eventId: randomUUID(), occurredAt: new Date().toISOString() });
    await until('re-announcement', async () => (stateOf(vmId).length === 3 ? true : undefined), 30_000);
    expect(stateOf(vmId)).toEqual(['provisioning@2', 'running@3', 'running@3']);
    expect((await ssh(['virsh', '-c', 'qemu:///system', 'domid', `mc-${vmId}`])).stdout.trim()).toBe(domid);
  });

  it('fails a VM with an unknown image with a reason, and answers 404 for an unknown console', async () => {
    const vmId = randomUUID();
    createdVms.push(vmId);
    await bus.publish(Subjects.VmScheduled, {
      vmId,
      name: 'it-prov-vm2',
      hostId: host.id,
      resources: { vcpus: 1, memoryMiB: 128, diskGiB: 1 },
      image: { id: randomUUID(), name: 'not-registered', checksum: 'b'.repeat(64) },
      reason: 'integration test',
      attempt: 1,
    });
    const failed = await until('failed', async () => events.find((x) => x.vmId === vmId && x.state === 'failed'), 30_000);
    expect(failed.reason).toMatch(/unknown image not-registered/);
    expect((await ssh(['virsh', '-c', 'qemu:///system', 'domstate', `mc-${vmId}`]).catch((e) => e)).message).toMatch(/failed to get domain/);
    const none = await rpcError(Rpc.VmConsole, { vmId: randomUUID() });
    expect(none.status).toBe(404);
  });
});
