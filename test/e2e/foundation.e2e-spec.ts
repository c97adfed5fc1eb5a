/**
 * The foundation end to end: five services as processes, a private NATS and database, the lab's real libvirt
 * hosts. A VM requested over REST runs on a lab host and boots; nothing is lost while the provisioner is down;
 * bad input is refused; a VM that cannot fit fails with a reason; one trace spans the whole request.
 */
import { Platform, sleep } from './support/platform';
import { cleanLabVms, virsh } from './support/lab';

describe('foundation: REST → bus → scheduler → provisioner → a running VM on a lab host', () => {
  let p: Platform;
  let hosts: any[];
  const created: string[] = [];

  beforeAll(async () => {
    p = await Platform.start('foundation');
    ({ hosts } = await p.registerLab());
  });

  afterAll(async () => {
    await p?.stop();
    if (p?.lab) await cleanLabVms(p.lab, created);
  });

  async function createVm(name: string, extra: Record<string, unknown> = {}) {
    const r = await p.api('POST', '/v1/vms', { name, vcpus: 1, memoryMiB: 256, diskGiB: 1, image: 'minicloud-lab', ...extra });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ id: expect.any(String), status: 'requested' });
    expect(r.headers.get('location')).toBe(`/v1/vms/${r.body.id}`);
    created.push(r.body.id);
    return r.body.id as string;
  }

  async function consoleShows(id: string, pattern: RegExp, timeoutMs = 90_000): Promise<string[]> {
    const end = Date.now() + timeoutMs;
    let lines: string[] = [];
    while (Date.now() < end) {
      const r = await p.api('GET', `/v1/vms/${id}/console?lines=200`);
      if (r.status === 200) {
        lines = r.body.lines;
        if (lines.some((l) => pattern.test(l))) return lines;
      }
      await sleep(1000);
    }
    throw new Error(`console of ${id} never showed ${pattern}; last lines: ${lines.slice(-5).join(' | ')}`);
  }

  it('registers the lab hosts with what discovery found', () => {
    expect(hosts).toHaveLength(p.lab.hosts.length);
    for (const h of hosts) {
      expect(h.state).toBe('up');
      expect(h.facts.cpus).toBeGreaterThanOrEqual(1);
      expect(h.facts.memoryMiB).toBeGreaterThan(1000);
      expect(h.facts.arch).toBe('x86_64');
      expect(h.facts.libvirtVersion).toMatch(/^\d+\.\d+/);
    }
  });

  it('runs a VM requested over REST on a lab host, and its console shows the guest booted', async () => {
    const id = await createVm('web-1');
    const vm = await p.waitForVm(id, (v) => v.status === 'running' || v.status === 'failed');
    expect(vm.status).toBe('running');
    expect(vm.reason).toBeNull();
    const host = p.lab.hosts.find((h) => h.address === vm.host.address);
    expect(host).toBeDefined();
    // The host itself says the domain runs.
    expect((await virsh(p.lab, host!, 'domstate', `mc-${id}`)).trim()).toBe('running');
    const lines = await consoleShows(id, /MINICLOUD-GUEST BOOTED/);
    expect(lines.join('\n')).toMatch(/MINICLOUD-GUEST BOOTED/);
  });

  it('keeps a request accepted while the provisioner is stopped, and runs it once the provisioner is back', async () => {
    await p.stopService('provisioner');
    const id = await createVm('while-down-1');
    // The scheduler still places it; nobody builds it.
    const scheduled = await p.waitForVm(id, (v) => v.status === 'scheduled', 30_000);
    expect(scheduled.host).not.toBeNull();
    await sleep(2000);
    expect((await p.api('GET', `/v1/vms/${id}`)).body.status).toBe('scheduled');
    await p.startService('provisioner');
    const vm = await p.waitForVm(id, (v) => v.status === 'running' || v.status === 'failed');
    expect(vm.status).toBe('running');
  });

  it('refuses bad input with 400 and the reason for each field, and creates nothing', async () => {
    const before = (await p.api('GET', '/v1/vms')).body.total;
    const cases: [unknown, RegExp][] = [
      [{ name: 'x;rm -rf /', vcpus: 1, memoryMiB: 256, diskGiB: 1, image: 'minicloud-lab' }, /name/],
      [{ name: 'neg', vcpus: -1, memoryMiB: 256, diskGiB: 1, image: 'minicloud-lab' }, /vcpus/],
      [{ name: 'nomem', vcpus: 1, diskGiB: 1, image: 'minicloud-lab' }, /memoryMiB/],
      [{ name: 'img', vcpus: 1, memoryMiB: 256, diskGiB: 1, image: 'no-such-image' }, /image/],
      [{ name: 'extra', vcpus: 1, memoryMiB: 256, diskGiB: 1, image: 'minicloud-lab', color: 'red' }, /color/],
    ];
    for (const [body, field] of cases) {
      const r = await p.api('POST', '/v1/vms', body);
      expect(r.status).toBe(400);
      expect(r.body.errors.map((e: any) => e.field).join(',')).toMatch(field);
      expect(r.body.errors.every((e: any) => typeof e.reason === 'string' && e.reason.length > 0)).toBe(true);
    }
    const bad = await p.api('POST', '/v1/vms', '{"name": ');
    expect(bad.status).toBe(400);
    expect((await p.api('GET', '/v1/vms')).body.total).toBe(before);
  });

  it('fails a VM that fits on no host, saying how many hosts lacked what', async () => {
    const id = await createVm('too-big', { memoryMiB: 1024 * 1024 });
    const vm = await p.waitForVm(id, (v) => v.status === 'failed', 30_000);
    expect(vm.reason).toMatch(new RegExp(`no valid host among ${hosts.length} hosts: ${hosts.length} lacked memory \\(need 1048576 MiB, best free \\d+ MiB\\)`));
  });

  it('follows one request as ONE trace: gateway HTTP → publish → scheduler → provisioner → SSH commands', async () => {
    const id = await createVm('traced-1');
    await p.waitForVm(id, (v) => v.status === 'running' || v.status === 'failed');
    await sleep(1500); // let the batch span processors export
    const server = p.otlp.spans.find((s) => s.service === 'gateway' && s.kind === 2 && /POST/.test(s.name) && p.otlp.trace(s.traceId).some((x) => x.name === 'vm.requested publish'));
    expect(server).toBeDefined();
    const spans = p.otlp.trace(server!.traceId);
    const services = new Set(spans.map((s) => s.service));
    expect([...services]).toEqual(expect.arrayContaining(['gateway', 'scheduler', 'provisioner']));
    const names = spans.map((s) => `${s.service}:${s.name}`);
    expect(names).toEqual(expect.arrayContaining(['gateway:vm.requested publish', 'scheduler:vm.requested process', 'provisioner:vm.scheduled process']));
    const ssh = spans.filter((s) => s.service === 'provisioner' && s.name.startsWith('ssh '));
    expect(ssh.length).toBeGreaterThan(0);
    expect(ssh.map((s) => s.name).join(',')).toMatch(/ssh virsh/);
    // Every span of the trace hangs off the one client request.
    const ids = new Set(spans.map((s) => s.spanId));
    for (const s of spans) if (s !== server && s.parentSpanId) expect(ids.has(s.parentSpanId)).toBe(true);
  });
});
