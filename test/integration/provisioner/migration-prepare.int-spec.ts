/**
 * Preparing a live migration's target against the real lab (infra/lab: `bash infra/lab/lab.sh up 2` and
 * `bash infra/lab/image/build.sh`): the provisioner runs in-process, both lab hosts are registered, a VM is built on
 * h1, and rpc.provisioner.vm.prepare-migration is asked for h2. Checked on h2 over SSH: the disk is a qcow2 overlay
 * with the same backing file and virtual size as on h1, the backing image, kernel and initrd are in h2's cache, the
 * cloud-init seed is byte-identical; a second call puts nothing there and leaves the disk alone; storage `shared`
 * (the lab's VM directories are per host; asked before the copy puts a disk at that path) is refused with 409;
 * unknown VM → 404; target = source → 409.
 *
 * Isolation: a private nats-server (JetStream in a temp dir) and a throwaway Postgres database, both removed after;
 * the VM (domain and directories on both hosts) is removed afterwards.
 */
import { ChildProcess, spawn } from 'child_process';
import { randomUUID } from 'crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import type { INestApplicationContext } from '@nestjs/common';
import type { HostView, ImageView, VmPrepareMigrationReply } from '@minicloud/contracts';
import { Rpc, Subjects } from '@minicloud/contracts';
import { Bus, RpcError } from '@minicloud/messaging';
import { SshPool, SshTarget } from '@minicloud/ssh';
import { LibvirtDriver } from '@minicloud/hypervisor';
import { until as waitUntil } from '../../support/wait';
import { freePort } from '../../support/nats-server';

jest.setTimeout(600_000);

const LAB = process.env.MINICLOUD_LAB_DIR ?? '/var/lib/minicloud-lab';
const LAB_JSON = join(LAB, 'lab.json');
const IMAGE = join(LAB, 'images', 'minicloud-lab.qcow2');
const GiB = 1024 ** 3;

interface LabHost { name: string; address: string; port: number; user: string; hostKey: string }
type Msg = { subject: string; body: Record<string, any> };

const until = <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 500) =>
  waitUntil(what, fn, timeoutMs, everyMs, { retryErrors: true });

describe('prepare-migration against the lab', () => {
  let labHosts: LabHost[];
  let nats: ChildProcess;
  let tmp: string;
  let dbName: string;
  let app: INestApplicationContext;
  let bus: Bus;
  let pool: SshPool;
  let h1: SshTarget;
  let h2: SshTarget;
  let host1: HostView;
  let host2: HostView;
  let image: ImageView;
  let vmId: string | undefined;
  const msgs: Msg[] = [];

  beforeAll(async () => {
    if (!existsSync(LAB_JSON)) throw new Error(`the lab is not up: ${LAB_JSON} is missing (run: bash infra/lab/lab.sh up 2)`);
    if (!existsSync(IMAGE)) throw new Error(`the lab image is missing: ${IMAGE} (run: bash infra/lab/image/build.sh)`);
    labHosts = JSON.parse(readFileSync(LAB_JSON, 'utf8')).hosts;
    if (labHosts.length < 2) throw new Error(`the lab has ${labHosts.length} host(s); this test needs 2 (run: bash infra/lab/lab.sh up 2)`);
    [h1, h2] = labHosts.map((l) => ({ address: l.address, port: l.port, user: l.user, hostKey: l.hostKey }));
    tmp = mkdtempSync(join(tmpdir(), 'mc-it-mp-'));
    const port = await freePort();
    nats = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(tmp, 'js')], { stdio: 'ignore' });
    dbName = `minicloud_it_mp_${process.pid}`;
    Object.assign(process.env, {
      NATS_URL: `nats://127.0.0.1:${port}`,
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${dbName}`,
      OTEL_SDK_DISABLED: 'true',
      LOG_LEVEL: 'warn',
      MINICLOUD_SSH_KNOWN_HOSTS: join(LAB, 'known_hosts'),
      PROVISIONER_RECONCILE_INTERVAL_MS: '0',
    });
    await until('nats-server', async () => ((await Bus.connect({ name: 'it-probe' }).then((b) => b.close().then(() => true))) ? true : undefined), 10_000, 200);
    const { NestFactory } = await import('@nestjs/core');
    const { AppModule } = await import('../../../apps/provisioner/src/app.module');
    app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
    await app.init();
    bus = await Bus.connect({ name: 'it-migration-prepare' });
    const sub = bus.nc.subscribe(Subjects.VmStateChanged);
    void (async () => {
      for await (const m of sub) msgs.push({ subject: Subjects.VmStateChanged, body: JSON.parse(m.string()) });
    })();
    pool = new SshPool();
  });

  afterAll(async () => {
    if (pool && vmId) {
      for (const h of [h1, h2]) await new LibvirtDriver(pool.bind(h)).deleteVm(vmId).catch((e) => console.error(`cleanup of ${vmId} on ${h.address} failed: ${e.message}`));
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
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  const rpc = <T>(subject: (typeof Rpc)[keyof typeof Rpc], body: object) => bus.request<T>(subject, body, 300_000);
  const rpcError = (subject: (typeof Rpc)[keyof typeof Rpc], body: object) => rpc(subject, body).then(() => { throw new Error('expected an error'); }, (e) => e as RpcError);
  const ssh = (h: SshTarget, argv: string[]) => pool.exec(h, argv, { timeoutMs: 120_000 });
  const diskInfo = async (h: SshTarget, path: string) => JSON.parse((await ssh(h, ['qemu-img', 'info', '--output=json', '-U', path])).stdout);
  const sha256 = async (h: SshTarget, path: string) => (await ssh(h, ['sha256sum', '--', path])).stdout.split(/\s+/)[0];
  /** inode, change time (ns) and size: what would move if the file were written or replaced. */
  const stat = async (h: SshTarget, path: string) => (await ssh(h, ['stat', '-c', '%i %Z %.9Y %s', '--', path])).stdout.trim();
  const exists = async (h: SshTarget, path: string) => (await pool.exec(h, ['test', '-e', path], { check: false })).code === 0;

  it('registers both lab hosts and the image, and builds a VM on h1', async () => {
    host1 = await rpc<HostView>(Rpc.HostRegister, { address: labHosts[0].address, name: 'it-mp-h1' });
    host2 = await rpc<HostView>(Rpc.HostRegister, { address: labHosts[1].address, name: 'it-mp-h2' });
    image = await rpc<ImageView>(Rpc.ImageRegister, { name: 'it-mp-image', path: IMAGE });
    expect([host1.state, host2.state]).toEqual(['up', 'up']);
    expect(image.kernelPath && image.initrdPath).toBeTruthy();

    vmId = randomUUID();
    await bus.publish(Subjects.VmScheduled, {
      vmId, name: 'it-mp-vm', hostId: host1.id,
      resources: { vcpus: 1, memoryMiB: 128, diskGiB: 2 },
      image: { id: image.id, name: image.name, checksum: image.checksum },
      sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0kV1eVXq it-mp'],
      reason: 'integration test', attempt: 1,
    });
    const id = vmId;
    await until('VM running on h1', async () => (msgs.some((m) => m.body.vmId === id && m.body.state === 'running') ? true : undefined), 180_000);
  });

  it('storage shared: 409 for a VM with a host-local disk (the lab\'s VM directories are per host); nothing is put on h2', async () => {
    const shared = await rpcError(Rpc.VmPrepareMigration, { vmId, targetHostId: host2.id, storage: 'shared' });
    expect(shared.status).toBe(409);
    expect(shared.message).toBe(`VM ${vmId} has a host-local disk (storage 'local'): no other host sees it, migrate it with storage 'copy'`);
    expect(await exists(h2, `/var/lib/minicloud/vms/${vmId}`)).toBe(false);
  });

  it('storage copy: on h2 the disk is an overlay like h1\'s, the image files and the seed are there', async () => {
    const dir = `/var/lib/minicloud/vms/${vmId}`;
    const disk = `${dir}/disk.qcow2`;
    expect(await exists(h2, dir)).toBe(false);

    const r = await rpc<VmPrepareMigrationReply>(Rpc.VmPrepareMigration, { vmId, targetHostId: host2.id, storage: 'copy' });
    expect(r).toMatchObject({ vmId, sourceHostId: host1.id, targetHostId: host2.id, diskPath: disk });
    expect(r.prepared).toEqual(expect.arrayContaining([disk, `${dir}/seed.iso`]));

    const src = await diskInfo(h1, disk);
    const dst = await diskInfo(h2, disk);
    expect(dst.format).toBe('qcow2');
    expect(dst['backing-filename']).toBe(src['backing-filename']);
    expect(dst['backing-filename']).toBe(`/var/lib/minicloud/images/${image.checksum}.qcow2`);
    expect(dst['backing-filename-format']).toBe(src['backing-filename-format']);
    expect(dst['virtual-size']).toBe(src['virtual-size']);
    expect(dst['virtual-size']).toBe(2 * GiB);

    // The backing image, kernel and initrd at the same paths as on h1, intact.
    const xml = (await ssh(h1, ['virsh', '-c', 'qemu:///system', 'dumpxml', `mc-${vmId}`])).stdout;
    const kernel = /<kernel>([^<]+)<\/kernel>/.exec(xml)?.[1];
    const initrd = /<initrd>([^<]+)<\/initrd>/.exec(xml)?.[1];
    expect(kernel && initrd).toBeTruthy();
    for (const f of [src['backing-filename'] as string, kernel!, initrd!]) expect(await sha256(h2, f)).toBe(await sha256(h1, f));
    expect(await sha256(h2, `${dir}/seed.iso`)).toBe(await sha256(h1, `${dir}/seed.iso`));
  });

  it('a second call is harmless: nothing put there again, the disk untouched', async () => {
    const disk = `/var/lib/minicloud/vms/${vmId}/disk.qcow2`;
    const before = await stat(h2, disk);
    const again = await rpc<VmPrepareMigrationReply>(Rpc.VmPrepareMigration, { vmId, targetHostId: host2.id, storage: 'copy' });
    expect(again.prepared).toEqual([]);
    expect(await stat(h2, disk)).toBe(before);
  });

  it('refuses an unknown VM, the VM\'s own host and a bad storage kind', async () => {
    const unknown = await rpcError(Rpc.VmPrepareMigration, { vmId: randomUUID(), targetHostId: host2.id, storage: 'copy' });
    expect(unknown.status).toBe(404);

    const same = await rpcError(Rpc.VmPrepareMigration, { vmId, targetHostId: host1.id, storage: 'copy' });
    expect(same.status).toBe(409);
    expect(same.message).toBe(`VM ${vmId} already runs on host it-mp-h1: the target must be another host`);

    const bad = await rpcError(Rpc.VmPrepareMigration, { vmId, targetHostId: host2.id, storage: 'nfs' });
    expect(bad.status).toBe(400);
  });
});
