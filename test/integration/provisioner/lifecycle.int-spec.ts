/**
 * VM lifecycle against the real lab (infra/lab: `bash infra/lab/lab.sh up 2` and `bash infra/lab/image/build.sh`):
 * builds a VM with a cloud-init seed carrying an SSH key, runs every action on it (stop → start → reboot → suspend →
 * resume → force-stop → start → delete) checking `virsh domstate` on the host and the events after each, checks that
 * delete leaves nothing behind, that reconciliation fails a VM whose domain vanished behind the platform's back and
 * reports an unknown mc-* domain, and host administration (disable/enable, remove refused while VMs remain).
 *
 * Isolation: a private nats-server (JetStream in a temp dir) and a throwaway Postgres database, both removed after;
 * every VM/domain the test makes is removed from the host afterwards.
 */
import { ChildProcess, spawn } from 'child_process';
import { randomUUID } from 'crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Client } from 'pg';
import type { INestApplicationContext } from '@nestjs/common';
import type { HostView, ImageView, VmAction, VmConsoleReply } from '@minicloud/contracts';
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

describe('VM lifecycle against the lab', () => {
  let lab: LabHost;
  let nats: ChildProcess;
  let tmp: string;
  let dbName: string;
  let app: INestApplicationContext;
  let bus: Bus;
  let pool: SshPool;
  let h1: SshTarget;
  let host: HostView;
  let image: ImageView;
  const msgs: Msg[] = [];
  const createdVms: string[] = [];
  const strayDomains: string[] = [];

  beforeAll(async () => {
    if (!existsSync(LAB_JSON)) throw new Error(`the lab is not up: ${LAB_JSON} is missing (run: bash infra/lab/lab.sh up 2)`);
    if (!existsSync(IMAGE)) throw new Error(`the lab image is missing: ${IMAGE} (run: bash infra/lab/image/build.sh)`);
    lab = JSON.parse(readFileSync(LAB_JSON, 'utf8')).hosts[0];
    h1 = { address: lab.address, port: lab.port, user: lab.user, hostKey: lab.hostKey };
    tmp = mkdtempSync(join(tmpdir(), 'mc-it-lc-'));
    const port = await freePort();
    nats = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(tmp, 'js')], { stdio: 'ignore' });
    dbName = `minicloud_it_lc_${process.pid}`;
    Object.assign(process.env, {
      NATS_URL: `nats://127.0.0.1:${port}`,
      DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${dbName}`,
      OTEL_SDK_DISABLED: 'true',
      LOG_LEVEL: 'warn',
      MINICLOUD_SSH_KNOWN_HOSTS: join(LAB, 'known_hosts'),
      PROVISIONER_RECONCILE_INTERVAL_MS: '0', // reconciliation is triggered by host.state-changed up below
      PROVISIONER_REBOOT_TIMEOUT_SEC: '25',
    });
    await until('nats-server', async () => ((await Bus.connect({ name: 'it-probe' }).then((b) => b.close().then(() => true))) ? true : undefined), 10_000, 200);
    const { NestFactory } = await import('@nestjs/core');
    const { AppModule } = await import('../../../apps/provisioner/src/app.module');
    app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
    await app.init();
    bus = await Bus.connect({ name: 'it-lifecycle' });
    for (const subject of [Subjects.VmStateChanged, Subjects.VmOperationFinished, Subjects.VmDeleted, Subjects.HostStateChanged, Subjects.HostRemoved]) {
      const sub = bus.nc.subscribe(subject);
      void (async () => {
        for await (const m of sub) msgs.push({ subject, body: JSON.parse(m.string()) });
      })();
    }
    pool = new SshPool();
  });

  afterAll(async () => {
    if (pool && h1) {
      const driver = new LibvirtDriver(pool.bind(h1));
      for (const id of createdVms) await driver.deleteVm(id).catch((e) => console.error(`cleanup of ${id} failed: ${e.message}`));
      for (const d of strayDomains) await pool.exec(h1, ['virsh', '-c', 'qemu:///system', 'undefine', d], { check: false }).catch(() => undefined);
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

  const rpc = <T>(subject: (typeof Rpc)[keyof typeof Rpc], body: object) => bus.request<T>(subject, body, 120_000);
  const rpcError = (subject: (typeof Rpc)[keyof typeof Rpc], body: object) => rpc(subject, body).then(() => { throw new Error('expected an error'); }, (e) => e as RpcError);
  const ssh = (argv: string[]) => pool.exec(h1, argv, { timeoutMs: 60_000 });
  const virsh = (...args: string[]) => ssh(['virsh', '-c', 'qemu:///system', ...args]);
  const domstate = async (vmId: string) => (await pool.exec(h1, ['virsh', '-c', 'qemu:///system', 'domstate', `mc-${vmId}`], { check: false })).stdout.trim();
  const states = (vmId: string) => msgs.filter((m) => m.subject === Subjects.VmStateChanged && m.body.vmId === vmId).map((m) => `${m.body.state}@${m.body.generation}`);
  const bootCount = async (vmId: string) => {
    const c = await rpc<VmConsoleReply>(Rpc.VmConsole, { vmId, lines: 5000 });
    return c.lines.filter((l) => l.includes('MINICLOUD-GUEST BOOTED')).length;
  };
  const waitBoots = (vmId: string, n: number) => until(`boot #${n} of ${vmId}`, async () => ((await bootCount(vmId)) >= n ? true : undefined), 120_000, 1000);

  async function schedule(name: string, extra: object = {}): Promise<string> {
    const vmId = randomUUID();
    createdVms.push(vmId);
    await bus.publish(Subjects.VmScheduled, {
      vmId, name, hostId: host.id,
      resources: { vcpus: 1, memoryMiB: 128, diskGiB: 2 },
      image: { id: image.id, name: image.name, checksum: image.checksum },
      reason: 'integration test', attempt: 1, ...extra,
    });
    await until(`${name} running`, async () => (states(vmId).includes('running@3') ? true : undefined), 180_000);
    return vmId;
  }

  /** Publishes vm.action-requested and waits for its vm.operation-finished; returns it and the state events it caused. */
  async function act(vmId: string, action: VmAction, extra: object = {}) {
    const operationId = randomUUID();
    const before = states(vmId).length;
    await bus.publish(Subjects.VmActionRequested, { operationId, vmId, action, ...extra });
    const done = await until(`${action} finished`, async () => msgs.find((m) => m.subject === Subjects.VmOperationFinished && m.body.operationId === operationId), 180_000);
    return { finished: done.body, newStates: states(vmId).slice(before) };
  }

  it('registers the host and the image', async () => {
    host = await rpc<HostView>(Rpc.HostRegister, { address: lab.address, name: 'it-lc-h1' });
    image = await rpc<ImageView>(Rpc.ImageRegister, { name: 'it-lc-image', path: IMAGE });
    expect(host.state).toBe('up');
  });

  let vmId: string;
  const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK0kV1eVXq "it\'s: a #test"';

  it('builds a VM whose disk is grown to diskGiB and whose NoCloud seed (attached read-only) carries the SSH key', async () => {
    vmId = await schedule('it-lc-vm', { sshKeys: [KEY] });
    const dir = `/var/lib/minicloud/vms/${vmId}`;
    const disk = JSON.parse((await ssh(['qemu-img', 'info', '-U', '--output=json', `${dir}/disk.qcow2`])).stdout);
    expect(disk['virtual-size']).toBe(2 * GiB);
    const xml = (await virsh('dumpxml', `mc-${vmId}`)).stdout;
    expect(xml).toMatch(new RegExp(`<source file='${dir}/seed.iso'[^>]*/>\\s*(<backingStore/>\\s*)?<target dev='vdb' bus='virtio'/>\\s*<readonly/>`));
    // The ISO itself, read on the host: volume "cidata", meta-data and user-data with the key, YAML intact.
    expect((await ssh(['isoinfo', '-d', '-i', `${dir}/seed.iso`])).stdout).toMatch(/Volume id: cidata/);
    const userData = (await ssh(['isoinfo', '-R', '-i', `${dir}/seed.iso`, '-x', '/user-data'])).stdout;
    expect(userData).toBe(`#cloud-config\nssh_authorized_keys:\n  - ${JSON.stringify(KEY)}\n`);
    const metaData = (await ssh(['isoinfo', '-R', '-i', `${dir}/seed.iso`, '-x', '/meta-data'])).stdout;
    expect(metaData).toContain(`instance-id: "${vmId}"`);
    expect(metaData).toContain('local-hostname: "it-lc-vm"');
    // ...and the guest found it on vdb and took its hostname from it.
    await until('the guest read its seed', async () => {
      const c = await rpc<VmConsoleReply>(Rpc.VmConsole, { vmId, lines: 500 });
      return c.lines.some((l) => l.includes(`MINICLOUD-GUEST SEED device=/dev/vdb instance-id=${vmId} local-hostname=it-lc-vm`)) &&
        c.lines.some((l) => l.includes('MINICLOUD-GUEST BOOTED hostname=it-lc-vm')) ? true : undefined;
    }, 120_000, 1000);
  });

  it('runs every action, each visible in virsh domstate and in the events', async () => {
    let r = await act(vmId, 'stop');
    expect(r.finished).toMatchObject({ status: 'succeeded', state: 'stopped', action: 'stop' });
    expect(r.newStates).toEqual(['stopping@4', 'stopped@5']);
    expect(await domstate(vmId)).toBe('shut off');
    // It shut down gracefully (the guest saw the ACPI power button), it was not forced off.
    expect(msgs.find((m) => m.subject === Subjects.VmStateChanged && m.body.vmId === vmId && m.body.state === 'stopped')?.body.reason).toBeUndefined();

    r = await act(vmId, 'start');
    expect(r.finished).toMatchObject({ status: 'succeeded', state: 'running' });
    expect(r.newStates).toEqual(['running@6']);
    expect(await domstate(vmId)).toBe('running');
    await waitBoots(vmId, 2); // the console still works after stop/start, and keeps the earlier boot

    r = await act(vmId, 'reboot');
    expect(r.finished).toMatchObject({ status: 'succeeded', state: 'running' });
    expect(r.newStates).toEqual(['running@7']);
    expect(await domstate(vmId)).toBe('running');
    await waitBoots(vmId, 3);
    // Normally the guest honours the ACPI reboot (libvirt's reboot event comes). On a busy machine the event can be
    // missed or late; then the VM is reset, and says so. Either way it booted again (above).
    const rebootReason = msgs.find((m) => m.subject === Subjects.VmStateChanged && m.body.vmId === vmId && m.body.generation === 7)?.body.reason;
    if (rebootReason !== undefined) expect(rebootReason).toBe('the guest ignored the ACPI reboot request: it was reset');

    r = await act(vmId, 'suspend');
    expect(r.finished).toMatchObject({ status: 'succeeded', state: 'suspended' });
    expect(r.newStates).toEqual(['suspended@8']);
    expect(await domstate(vmId)).toBe('paused');

    // An action the state no longer allows: refused with the current state named, nothing changes.
    r = await act(vmId, 'suspend');
    expect(r.finished).toMatchObject({ status: 'failed', state: 'suspended' });
    expect(r.finished.error).toMatch(/cannot suspend a VM that is suspended/);
    expect(r.newStates).toEqual([]);

    r = await act(vmId, 'resume');
    expect(r.finished).toMatchObject({ status: 'succeeded', state: 'running' });
    expect(r.newStates).toEqual(['running@9']);
    expect(await domstate(vmId)).toBe('running');

    r = await act(vmId, 'force-stop');
    expect(r.finished).toMatchObject({ status: 'succeeded', state: 'stopped' });
    expect(r.newStates).toEqual(['stopped@10']);
    expect(await domstate(vmId)).toBe('shut off');

    r = await act(vmId, 'start');
    expect(r.newStates).toEqual(['running@11']);
    expect(await domstate(vmId)).toBe('running');
    await waitBoots(vmId, 4);
  });

  it('host remove is refused with 409 listing the VMs still on it', async () => {
    const err = await rpcError(Rpc.HostRemove, { hostId: host.id });
    expect(err.status).toBe(409);
    expect(err.message).toContain(vmId);
  });

  it('deletes the VM: no domain, no directory left on the host, the template stays; vm.deleted follows', async () => {
    const r = await act(vmId, 'delete');
    expect(r.finished).toMatchObject({ status: 'succeeded', state: 'deleted' });
    expect(r.newStates).toEqual(['deleting@12', 'deleted@13']);
    const deleted = msgs.find((m) => m.subject === Subjects.VmDeleted && m.body.vmId === vmId);
    expect(deleted?.body).toMatchObject({ hostId: host.id, generation: 14 });
    expect((await pool.exec(h1, ['virsh', '-c', 'qemu:///system', 'domstate', `mc-${vmId}`], { check: false })).stderr).toMatch(/failed to get domain/);
    expect((await pool.exec(h1, ['test', '-e', `/var/lib/minicloud/vms/${vmId}`], { check: false })).code).toBe(1);
    expect((await ssh(['test', '-f', `/var/lib/minicloud/images/${image.checksum}.qcow2`])).code).toBe(0);
    const none = await rpcError(Rpc.VmConsole, { vmId });
    expect(none.status).toBe(404);
    expect(none.message).toMatch(/deleted/);
  });

  it('reconciliation fails a VM destroyed and undefined behind the platform\'s back, and reports unknown mc-* domains', async () => {
    const vm2 = await schedule('it-lc-vm2');
    await virsh('destroy', `mc-${vm2}`);
    await virsh('undefine', `mc-${vm2}`);
    // An mc-* domain the platform never made: reported, never deleted.
    const stray = randomUUID();
    strayDomains.push(`mc-${stray}`);
    const xmlPath = `/var/lib/minicloud/shared/it-lc-${stray}.xml`;
    await pool.exec(h1, ['cp', '/dev/stdin', xmlPath], { stdin: `<domain type='qemu'><name>mc-${stray}</name><uuid>${stray}</uuid><memory unit='MiB'>64</memory><os><type arch='x86_64' machine='pc'>hvm</type></os></domain>` });
    await virsh('define', xmlPath);
    await ssh(['rm', '-f', xmlPath]);

    await bus.publish(Subjects.HostStateChanged, { hostId: host.id, state: 'up', previousState: 'down', reason: 'integration test: host back' });
    const failed = await until('failed', async () => msgs.find((m) => m.subject === Subjects.VmStateChanged && m.body.vmId === vm2 && m.body.state === 'failed'), 60_000);
    expect(failed.body.reason).toBe(`domain mc-${vm2} disappeared from host it-lc-h1`);
    expect(failed.body.generation).toBe(4);

    const c = new Client({ connectionString: process.env.DATABASE_URL });
    await c.connect();
    try {
      const rows = (await until('unknown domain row', async () => {
        const r = await c.query(`SELECT domain_name, uuid, state FROM provisioner.unknown_domains WHERE host_id = $1`, [host.id]);
        return r.rows.length ? r.rows : undefined;
      }, 30_000)) as { domain_name: string; uuid: string; state: string }[];
      expect(rows).toEqual([{ domain_name: `mc-${stray}`, uuid: stray, state: 'shutoff' }]);
    } finally {
      await c.end();
    }
    expect(await domstate(stray)).toBe('shut off'); // still there

    // The failed VM still blocks host removal until it is deleted.
    expect((await rpcError(Rpc.HostRemove, { hostId: host.id })).message).toContain(vm2);
    expect((await act(vm2, 'delete')).finished).toMatchObject({ status: 'succeeded', state: 'deleted' });
  });

  it('deletes a VM that was never built, and then ignores its late vm.scheduled', async () => {
    const ghost = randomUUID();
    createdVms.push(ghost);
    const r = await act(ghost, 'delete');
    expect(r.finished).toMatchObject({ status: 'succeeded', state: 'deleted' });
    expect(r.newStates).toEqual(['deleting@2', 'deleted@3']);
    await until('vm.deleted', async () => msgs.find((m) => m.subject === Subjects.VmDeleted && m.body.vmId === ghost && m.body.generation === 4), 10_000);
    await bus.publish(Subjects.VmScheduled, {
      vmId: ghost, name: 'it-lc-ghost', hostId: host.id,
      resources: { vcpus: 1, memoryMiB: 128, diskGiB: 1 },
      image: { id: image.id, name: image.name, checksum: image.checksum },
      reason: 'integration test (late)', attempt: 1,
    });
    await new Promise((res) => setTimeout(res, 3000));
    expect(states(ghost)).toEqual(['deleting@2', 'deleted@3']);
    expect((await pool.exec(h1, ['virsh', '-c', 'qemu:///system', 'domstate', `mc-${ghost}`], { check: false })).stderr).toMatch(/failed to get domain/);
  });

  it('disables and enables the host, then removes it once no VM is left', async () => {
    const off = await rpc<HostView>(Rpc.HostAdminState, { hostId: host.id, adminState: 'disabled', reason: 'maintenance window' });
    expect(off.state).toBe('disabled');
    await until('host disabled event', async () => msgs.find((m) => m.subject === Subjects.HostStateChanged && m.body.hostId === host.id && m.body.state === 'disabled' && m.body.reason === 'maintenance window'), 10_000);
    expect((await rpc<HostView>(Rpc.HostRegister, { address: lab.address })).state).toBe('disabled'); // re-registering keeps it disabled
    const on = await rpc<HostView>(Rpc.HostAdminState, { hostId: host.id, adminState: 'enabled' });
    expect(on.state).toBe('up');
    expect(await rpc(Rpc.HostRemove, { hostId: host.id })).toEqual({ removed: true });
    await until('host.removed', async () => msgs.find((m) => m.subject === Subjects.HostRemoved && m.body.hostId === host.id), 10_000);
    expect((await rpcError(Rpc.HostAdminState, { hostId: host.id, adminState: 'enabled' })).status).toBe(404);
  });
});
