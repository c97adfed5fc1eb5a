/**
 * The minicloud CLI end to end: the BUILT CLI as a child process drives a real VM on the lab through the whole
 * lifecycle — create --wait → stop --wait → start --wait → delete --wait — with --json parsed at every step, and
 * the lab host's libvirt confirms each state. Needs the lifecycle API (actions, operations, DELETE).
 */
import { execFile } from 'child_process';
import { join } from 'path';
import { cleanLabVms, virsh } from './support/lab';
import { Platform } from './support/platform';

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'apps', 'cli', 'src', 'main.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

describe('minicloud CLI: a VM lifecycle on the lab', () => {
  let p: Platform;
  let vmId: string | undefined;

  beforeAll(async () => {
    p = await Platform.start('cli');
    await p.registerLab();
  });

  afterAll(async () => {
    await p?.stop();
    if (p?.lab && vmId) await cleanLabVms(p.lab, [vmId]);
  });

  function cli(...args: string[]): Promise<Result> {
    return new Promise((resolve) => {
      execFile(
        process.execPath,
        ['-r', join(ROOT, 'tools', 'register-paths.js'), MAIN, '--api', p.gatewayUrl, '--timeout', '180', ...args],
        { cwd: ROOT, env: { ...process.env, MINICLOUD_API: '' }, timeout: 200_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? -1) : 0, stdout, stderr }),
      );
    });
  }

  /** Runs the CLI, expects exit 0 and one JSON document on stdout. */
  async function json(...args: string[]): Promise<any> {
    const r = await cli(...args, '--json');
    if (r.code !== 0) throw new Error(`minicloud ${args.join(' ')} exited ${r.code}:\n${r.stderr}\n${r.stdout}`);
    return JSON.parse(r.stdout);
  }

  /** The VM the first test created (later steps need it). */
  function created(): string {
    if (!vmId) throw new Error('no VM: "create --wait" failed, see above');
    return vmId;
  }

  async function domstate(): Promise<string> {
    const vm = await json('vm', 'show', created());
    const host = p.lab.hosts.find((h) => h.address === vm.host?.address);
    if (!host) throw new Error(`VM ${vmId} is on no lab host: ${JSON.stringify(vm.host)}`);
    return (await virsh(p.lab, host, 'domstate', `mc-${vmId}`)).trim();
  }

  it('lists the lab hosts as JSON', async () => {
    const hosts = await json('hosts', 'list');
    expect(hosts.items.map((h: any) => h.address).sort()).toEqual(p.lab.hosts.map((h) => h.address).sort());
  });

  it('create --wait returns once the VM runs on a lab host', async () => {
    const vm = await json('vm', 'create', 'cli-1', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'minicloud-lab', '--tag', 'made-by=cli', '--wait');
    vmId = vm.id;
    expect(vm).toMatchObject({ name: 'cli-1', status: 'running', reason: null, tags: { 'made-by': 'cli' } });
    expect(await domstate()).toBe('running');
  });

  it('stop --wait returns once the VM is stopped', async () => {
    const op = await json('vm', 'stop', created(), '--wait');
    expect(op).toBeTruthy();
    expect((await json('vm', 'show', created())).status).toBe('stopped');
    expect(await domstate()).toBe('shut off');
  });

  it('start --wait returns once the VM runs again', async () => {
    await json('vm', 'start', 'cli-1', '--wait'); // by name
    expect((await json('vm', 'show', created())).status).toBe('running');
    expect(await domstate()).toBe('running');
  });

  it('delete --wait returns once the VM is gone from the API and from its host', async () => {
    const before = await json('vm', 'show', created());
    const host = p.lab.hosts.find((h) => h.address === before.host.address)!;
    await json('vm', 'delete', created(), '--wait');
    const show = await cli('vm', 'show', created(), '--json');
    if (show.code === 0) expect(JSON.parse(show.stdout).status).toBe('deleted');
    else expect(show.code).toBe(1); // 404
    const names = (await virsh(p.lab, host, 'list', '--all', '--name')).split('\n').map((s) => s.trim());
    expect(names).not.toContain(`mc-${vmId}`);
    const listed = await json('vm', 'list');
    expect(listed.items.map((v: any) => v.id)).not.toContain(vmId);
  });
});
