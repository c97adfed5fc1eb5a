/**
 * Operators' flows on the lab through the REST API: bulk host import where one line is bad, an image uploaded once
 * per host and cloned after, flavors, a cloud-init seed carrying the user's SSH key, lifecycle actions with
 * operations, a VM removed behind the platform's back found by reconciliation, and bad input reaching no host.
 */
import { Platform, sleep } from './support/platform';
import { cleanLabVms, onHost, virsh } from './support/lab';

describe('operating minicloud on the lab', () => {
  let p: Platform;
  const created: string[] = [];
  let registered: any[] = [];
  let checksum = '';
  const SSH_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorE2eKeyForMinicloudTests0000000 operator@e2e';

  beforeAll(async () => {
    p = await Platform.start('operator');
    // The platform registers hosts from an operator's host file: here as the bulk import the CLI sends.
  });

  afterAll(async () => {
    await p?.stop();
    if (p?.lab) await cleanLabVms(p.lab, created);
  });

  async function finished(opId: string, timeoutMs = 120_000): Promise<any> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = await p.api('GET', `/v1/operations/${opId}`);
      if (r.status === 200 && (r.body.status === 'succeeded' || r.body.status === 'failed')) return r.body;
      if (Date.now() > end) throw new Error(`operation ${opId} still ${JSON.stringify(r.body)}`);
      await sleep(500);
    }
  }

  it('imports a host list: the unreachable line is reported, the others are registered', async () => {
    const img = await p.api('POST', '/v1/images', { name: 'minicloud-lab', path: `${p.lab.imageDir}/minicloud-lab.qcow2` });
    expect(img.status).toBe(201);
    expect(img.body).toMatchObject({ format: 'qcow2', checksum: expect.stringMatching(/^[0-9a-f]{64}$/) });
    checksum = img.body.checksum;
    const r = await p.api('POST', '/v1/hosts/import', {
      hosts: [...p.lab.hosts.map((h) => ({ address: h.address, sshPort: h.port, sshUser: h.user })), { address: '127.0.0.1', sshPort: 1, sshUser: 'root' }],
    });
    expect(r.status).toBe(200);
    registered = r.body.registered;
    expect(registered.map((h: any) => h.address).sort()).toEqual(p.lab.hosts.map((h) => h.address).sort());
    expect(r.body.failed).toHaveLength(1);
    expect(r.body.failed[0]).toMatchObject({ address: '127.0.0.1' });
    // Nothing listens there and no key is pinned for it: refused before any trust is given.
    expect(r.body.failed[0].error).toMatch(/127\.0\.0\.1:1: (no host key|.*unreachable|.*refused)/i);
    const list = await p.api('GET', '/v1/hosts');
    expect(list.body.items ?? list.body).toHaveLength(p.lab.hosts.length);
  });

  it('uploads an image once per host and makes linked clones of the cached template after', async () => {
    const h1 = p.lab.hosts[0];
    const ids: string[] = [];
    // The host's template cache is keyed by the image's checksum.
    const template = `/var/lib/minicloud/images/${checksum}.qcow2`;
    await onHost(p.lab, h1, ['rm', '-f', template]); // a cache left by an earlier run would hide the first upload
    let firstUpload = '';
    for (const name of ['clone-a', 'clone-b']) {
      const target = registered.find((h) => h.address === h1.address).id;
      const r = await p.api('POST', '/v1/vms', { name, flavor: 'm1.tiny', image: 'minicloud-lab', targetHost: target });
      expect(r.status).toBe(202);
      created.push(r.body.id);
      ids.push(r.body.id);
      const vm = await p.waitForVm(r.body.id, (v) => v.status === 'running' || v.status === 'failed');
      expect(vm.status).toBe('running');
      expect(vm.host.address).toBe(h1.address);
      expect(vm).toMatchObject({ vcpus: 1, memoryMiB: 256, diskGiB: 1 });
      if (name === 'clone-a') {
        // What the first VM left in the host's image cache: remember the template's identity.
        firstUpload = await onHost(p.lab, h1, ['stat', '-c', '%n %i %Y', template]);
      }
    }
    const after = await onHost(p.lab, h1, ['stat', '-c', '%n %i %Y', template]);
    expect(after).toBe(firstUpload); // the same file: not uploaded again for the second VM
    for (const id of ids) {
      const info = JSON.parse(await onHost(p.lab, h1, ['qemu-img', 'info', '--output=json', '-U', `/var/lib/minicloud/vms/${id}/disk.qcow2`]));
      expect(info['backing-filename']).toBe(template);
      expect(info['virtual-size']).toBe(1024 ** 3);
    }
  });

  it('attaches a cloud-init seed carrying the given SSH key, and runs every action through operations', async () => {
    const r = await p.api('POST', '/v1/vms', { name: 'seeded-1', vcpus: 1, memoryMiB: 256, diskGiB: 2, image: 'minicloud-lab', sshKeys: [SSH_KEY], tags: { team: 'e2e' } }, { 'Idempotency-Key': 'seeded-1-create' });
    expect(r.status).toBe(202);
    const id = r.body.id as string;
    created.push(id);
    const again = await p.api('POST', '/v1/vms', { name: 'seeded-1', vcpus: 1, memoryMiB: 256, diskGiB: 2, image: 'minicloud-lab', sshKeys: [SSH_KEY], tags: { team: 'e2e' } }, { 'Idempotency-Key': 'seeded-1-create' });
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(id); // the repeated request returned the first result, no second VM
    const vm = await p.waitForVm(id, (v) => v.status === 'running' || v.status === 'failed');
    expect(vm.status).toBe('running');
    const host = p.lab.hosts.find((h) => h.address === vm.host.address)!;
    // Read the seed back from the host: the ISO's user-data holds the key.
    const userData = await onHost(p.lab, host, ['isoinfo', '-R', '-i', `/var/lib/minicloud/vms/${id}/seed.iso`, '-x', '/user-data']);
    expect(userData).toContain(SSH_KEY);
    expect(await virsh(p.lab, host, 'domblklist', `mc-${id}`)).toMatch(/seed\.iso/);
    expect((await p.api('GET', '/v1/vms?tag=team=e2e')).body.items.map((v: any) => v.id)).toEqual([id]);

    const conflict = await p.api('POST', `/v1/vms/${id}/actions`, { action: 'resume' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.state).toBe('running');

    const steps: [string, string, string][] = [
      ['stop', 'stopped', 'shut off'],
      ['start', 'running', 'running'],
      ['suspend', 'suspended', 'paused'],
      ['resume', 'running', 'running'],
      ['reboot', 'running', 'running'],
      ['force-stop', 'stopped', 'shut off'],
    ];
    for (const [action, state, dom] of steps) {
      const a = await p.api('POST', `/v1/vms/${id}/actions`, { action, stopTimeoutSec: 30 });
      expect(a.status).toBe(202);
      expect(a.headers.get('location')).toBe(`/v1/operations/${a.body.operation.id}`);
      const op = await finished(a.body.operation.id);
      expect({ action, status: op.status, error: op.error ?? null }).toEqual({ action, status: 'succeeded', error: null });
      await p.waitForVm(id, (v) => v.status === state, 30_000);
      expect((await virsh(p.lab, host, 'domstate', `mc-${id}`)).trim()).toBe(dom);
    }
    const del = await p.api('DELETE', `/v1/vms/${id}`);
    expect(del.status).toBe(202);
    expect((await finished(del.body.operation.id)).status).toBe('succeeded');
    await p.waitForVm(id, (v) => v.status === 'deleted', 30_000);
    expect(await virsh(p.lab, host, 'list', '--all', '--name')).not.toContain(`mc-${id}`);
    expect((await onHost(p.lab, host, ['sh', '-c', `test -e /var/lib/minicloud/vms/${id} && echo left || echo gone`])).trim()).toBe('gone');
  });

  it('notices a VM destroyed behind its back (reconciliation) and refuses to remove a host that runs VMs', async () => {
    const id = created[0]; // clone-a, running on host 1
    const host = p.lab.hosts[0];
    await virsh(p.lab, host, 'destroy', `mc-${id}`);
    await virsh(p.lab, host, 'undefine', `mc-${id}`);
    const vm = await p.waitForVm(id, (v) => v.status === 'failed', 90_000);
    expect(vm.reason).toMatch(new RegExp(`mc-${id} disappeared`));

    const hosts = (await p.api('GET', '/v1/hosts')).body;
    const h1 = (hosts.items ?? hosts).find((h: any) => h.address === host.address);
    const rm = await p.api('DELETE', `/v1/hosts/${h1.id}`);
    expect(rm.status).toBe(409);
    expect(rm.body.vms.map((v: any) => v.id)).toContain(created[1]);
  });

  it('refuses bad input with 400 before anything reaches a host', async () => {
    const before = (await p.api('GET', '/v1/vms')).body.total;
    const bad: [Record<string, unknown>, RegExp][] = [
      [{ name: 'a', flavor: 'm9.huge', image: 'minicloud-lab' }, /flavor/],
      [{ name: 'b', vcpus: 1, memoryMiB: -256, diskGiB: 1, image: 'minicloud-lab' }, /memoryMiB/],
      [{ name: 'c$(reboot)', flavor: 'm1.tiny', image: 'minicloud-lab' }, /name/],
      [{ name: 'd', flavor: 'm1.tiny', image: 'minicloud-lab', userData: 'x'.repeat(70 * 1024) }, /userData/],
    ];
    for (const [body, field] of bad) {
      const r = await p.api('POST', '/v1/vms', body);
      expect(r.status).toBe(400);
      expect(r.body.errors.map((e: any) => e.field).join(',')).toMatch(field);
    }
    expect((await p.api('GET', '/v1/vms')).body.total).toBe(before);
  });
});
