/**
 * The BUILT CLI (dist/apps/cli, `npm run build` first) as a child process, against recordedGatewayServer: a
 * real HTTP server that answers like the gateway. Checks what a script would rely on: --json parses, exit codes,
 * stderr messages, the --wait follow loop, Idempotency-Key on POSTs, and the tools/minicloud wrapper.
 */
import { execFile } from 'child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { freePort } from '../../support/nats-server';
import { recordedGatewayServer, RecordedGatewayServer } from './recorded-gateway-server';

const ROOT = join(__dirname, '..', '..', '..');
const MAIN = join(ROOT, 'dist', 'apps', 'cli', 'src', 'main.js');
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(api: string, args: string[], opts: { cwd?: string; bin?: string } = {}): Promise<Result> {
  const [file, argv] = opts.bin ? [opts.bin, args] : [process.execPath, ['-r', join(ROOT, 'tools', 'register-paths.js'), MAIN, ...args]];
  return new Promise((resolve) => {
    execFile(file, argv, { cwd: opts.cwd ?? ROOT, env: { ...process.env, MINICLOUD_API: api }, timeout: 50_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe('minicloud CLI (built) against a recorded gateway', () => {
  let gw: RecordedGatewayServer;
  let tmp: string;

  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run "npm run build" first`);
    tmp = mkdtempSync(join(tmpdir(), 'mc-cli-'));
  });
  beforeEach(async () => {
    gw = await recordedGatewayServer();
  });
  afterEach(async () => {
    await gw.stop();
  });
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it('vm create --json prints the 202 body as one JSON document and POSTs with an Idempotency-Key', async () => {
    writeFileSync(join(tmp, 'id.pub'), 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample me@laptop\n');
    const r = await cli(gw.url, ['vm', 'create', 'web-1', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'minicloud-lab', '--ssh-key', 'id.pub', '--tag', 'team=web', '--json'], { cwd: tmp });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const vm = JSON.parse(r.stdout);
    expect(vm).toMatchObject({ name: 'web-1', status: 'requested', tags: { team: 'web' } });
    const post = gw.requests.find((q) => q.method === 'POST')!;
    expect(post.headers['idempotency-key']).toMatch(UUID);
    expect(post.headers['content-type']).toMatch(/application\/json/);
    expect(post.body).toEqual({ name: 'web-1', vcpus: 1, memoryMiB: 256, diskGiB: 1, image: 'minicloud-lab', sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExample me@laptop'], tags: { team: 'web' } });
  });

  it('--idempotency-key is sent as given, and a dropped connection is retried with the same key', async () => {
    gw.dropNext = { method: 'POST', path: '/v1/vms', count: 1 };
    const r = await cli(gw.url, ['vm', 'create', 'web-2', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'minicloud-lab', '--idempotency-key', 'my-key-1', '--json']);
    expect(r.code).toBe(0);
    const posts = gw.requests.filter((q) => q.method === 'POST');
    expect(posts).toHaveLength(2);
    expect(posts.map((p) => p.headers['idempotency-key'])).toEqual(['my-key-1', 'my-key-1']);
    expect(JSON.parse(r.stdout).name).toBe('web-2');
  });

  it('vm create --wait follows the VM to running: one stderr line per state, the final VM on stdout', async () => {
    const r = await cli(gw.url, ['vm', 'create', 'web-3', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'minicloud-lab', '--wait', '--json']);
    expect(r.code).toBe(0);
    const vm = JSON.parse(r.stdout);
    expect(vm).toMatchObject({ name: 'web-3', status: 'running', host: { name: 'hv1' } });
    const states = r.stderr.trim().split('\n').map((l) => /^VM web-3: (\S+) \(\d+\.\ds\)$/.exec(l)?.[1]);
    expect(states).toEqual(['scheduled', 'provisioning', 'running']);
  });

  it('vm create --wait exits 4 with the reason when the VM fails', async () => {
    gw.createScript = ['failed'];
    gw.failCreateWith = 'no valid host among 2 hosts: 2 lacked memory (need 1048576 MiB, best free 3000 MiB)';
    const r = await cli(gw.url, ['vm', 'create', 'big', '--vcpus', '1', '--memory', '1048576', '--disk', '1', '--image', 'minicloud-lab', '--wait']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('minicloud: failed: VM big failed: no valid host among 2 hosts: 2 lacked memory');
  });

  it('vm stop --wait follows the operation; a failing operation exits 4 with its error', async () => {
    const created = JSON.parse((await cli(gw.url, ['vm', 'create', 'web-4', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'minicloud-lab', '--json'])).stdout);
    const stop = await cli(gw.url, ['vm', 'stop', created.id, '--wait', '--json']);
    expect(stop.code).toBe(0);
    expect(JSON.parse(stop.stdout)).toMatchObject({ vmId: created.id, action: 'stop', status: 'succeeded' });
    expect(stop.stderr).toMatch(/stop [0-9a-f-]+: pending .*\n.*stop [0-9a-f-]+: running .*\n.*stop [0-9a-f-]+: succeeded/);
    const actions = gw.requests.filter((q) => q.path.endsWith('/actions'));
    expect(actions[0].body).toEqual({ action: 'stop' });
    expect(actions[0].headers['idempotency-key']).toMatch(UUID);
    expect(gw.requests.filter((q) => q.path.startsWith('/v1/operations/')).length).toBeGreaterThanOrEqual(2);

    gw.operationScript.reboot = [{ status: 'running' }, { status: 'failed', error: 'virsh reboot: domain is not running' }];
    const reboot = await cli(gw.url, ['vm', 'reboot', 'web-4', '--wait']);
    expect(reboot.code).toBe(4);
    expect(reboot.stderr).toContain('virsh reboot: domain is not running');
  });

  it('vm delete --wait follows the VM until it is gone', async () => {
    const created = JSON.parse((await cli(gw.url, ['vm', 'create', 'web-5', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'minicloud-lab', '--json'])).stdout);
    const r = await cli(gw.url, ['vm', 'delete', created.id, '--wait', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ id: created.id, status: 'deleted' });
    expect(gw.writes()).toContain(`DELETE /v1/vms/${created.id}`);
  });

  it('a refusal prints the message and each field reason on stderr and exits 1', async () => {
    const r = await cli(gw.url, ['vm', 'create', 'Bad_Name', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'minicloud-lab']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('(400 Bad Request)');
    expect(r.stderr).toContain('minicloud:   name: name must be 1-63 characters');
    const img = await cli(gw.url, ['vm', 'create', 'ok', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'nope', '--json']);
    expect(img.code).toBe(1);
    expect(JSON.parse(img.stdout)).toMatchObject({ statusCode: 400, errors: [{ field: 'image', reason: 'unknown image "nope"' }] });
  });

  it('exit 2 for usage errors (nothing sent), 3 for server errors and an unreachable server', async () => {
    const usage = await cli(gw.url, ['vm', 'create', 'x', '--vcpus', 'many']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--vcpus must be a whole number');
    expect(gw.requests).toHaveLength(0);

    gw.broken = true;
    const broken = await cli(gw.url, ['vm', 'list']);
    expect(broken.code).toBe(3);
    expect(broken.stderr).toContain('database is on fire (500 Internal Server Error)');

    const port = await freePort();
    const down = await cli(`http://127.0.0.1:${port}`, ['vm', 'list']);
    expect(down.code).toBe(3);
    expect(down.stderr).toContain(`cannot reach the minicloud API at http://127.0.0.1:${port}: connection refused`);
  });

  it('hosts import: bulk endpoint, or one POST per line on a gateway without it; exit 1 when a line failed', async () => {
    const file = join(tmp, 'hosts.txt');
    writeFileSync(file, '# lab\n10.254.7.11\nroot@10.254.7.12:2222  # second\n\n10.99.0.1\n');
    const bulk = await cli(gw.url, ['hosts', 'import', file]);
    expect(bulk.code).toBe(1);
    expect(bulk.stdout).toMatch(/^line 2: 10\.254\.7\.11: registered as hv-10-254-7-11 \([0-9a-f-]+\)\nline 3: root@10\.254\.7\.12:2222: registered as hv-10-254-7-12 .*\nline 5: 10\.99\.0\.1: FAILED: cannot reach 10\.99\.0\.1:22 over SSH: connect ECONNREFUSED\n2 registered, 1 failed\n$/);
    expect(gw.requests.find((q) => q.path === '/v1/hosts/import')!.body).toEqual({
      hosts: [
        { address: '10.254.7.11', sshPort: 22, sshUser: 'root' },
        { address: '10.254.7.12', sshPort: 2222, sshUser: 'root' },
        { address: '10.99.0.1', sshPort: 22, sshUser: 'root' },
      ],
    });

    gw.bulkImport = false;
    const before = gw.requests.length;
    const fallback = await cli(gw.url, ['hosts', 'import', file, '--json']);
    expect(fallback.code).toBe(1);
    const doc = JSON.parse(fallback.stdout);
    expect(doc.registered.map((h: { address: string }) => h.address)).toEqual(['10.254.7.11', '10.254.7.12']);
    expect(doc.failed).toEqual([{ address: '10.99.0.1', line: 5, error: expect.stringContaining('connect ECONNREFUSED (422') }]);
    const sent = gw.requests.slice(before).map((q) => `${q.method} ${q.path}`);
    expect(sent).toEqual(['POST /v1/hosts/import', 'POST /v1/hosts', 'POST /v1/hosts', 'POST /v1/hosts']);
    const keys = gw.requests.slice(before).map((q) => q.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(4);

    writeFileSync(file, '10.254.7.13\n');
    expect((await cli(gw.url, ['hosts', 'import', file])).code).toBe(0);
  });

  it('vm list --json parses, and the tables are readable', async () => {
    await cli(gw.url, ['vm', 'create', 'a-1', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'minicloud-lab', '--tag', 'team=web']);
    await cli(gw.url, ['vm', 'create', 'b-1', '--vcpus', '2', '--memory', '2048', '--disk', '3', '--image', 'minicloud-lab']);
    const json = await cli(gw.url, ['vm', 'list', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ total: 2 });
    const tagged = await cli(gw.url, ['vm', 'list', '--tag', 'team=web', '--json']);
    expect(JSON.parse(tagged.stdout).items.map((v: { name: string }) => v.name)).toEqual(['a-1']);
    const table = await cli(gw.url, ['vm', 'list']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+STATUS/);
    expect(table.stdout).toMatch(/b-1\s+requested\s+-\s+2\s+2 GiB\s+3 GiB\s+minicloud-lab/);
  });

  /** A VM the recorded gateway shows running on hv-10-254-7-11, and a second host hv-10-254-7-12. */
  async function runningVm(name: string): Promise<string> {
    expect((await cli(gw.url, ['hosts', 'add', '10.254.7.11'])).code).toBe(0);
    expect((await cli(gw.url, ['hosts', 'add', '10.254.7.12'])).code).toBe(0);
    const vm = JSON.parse((await cli(gw.url, ['vm', 'create', name, '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'minicloud-lab', '--json'])).stdout);
    const fake = gw.vms.get(vm.id)!;
    Object.assign(fake, { status: 'running', host: { id: gw.hosts[0].id, name: gw.hosts[0].name, address: gw.hosts[0].address }, script: [] });
    return vm.id;
  }

  it('vm migrate --wait: one stderr line per change (stage, % of memory, remaining, dirty rate), the result on stdout', async () => {
    const vmId = await runningVm('mig-1');
    const r = await cli(gw.url, ['vm', 'migrate', 'mig-1', '--to', 'hv-10-254-7-12', '--max-downtime', '300', '--wait']);
    expect(r.code).toBe(0);
    const post = gw.requests.find((q) => q.path === `/v1/vms/${vmId}/migrate`)!;
    expect(post.body).toEqual({ targetHost: 'hv-10-254-7-12', maxDowntimeMs: 300 });
    expect(post.headers['idempotency-key']).toMatch(UUID);
    const lines = r.stderr.trim().split('\n').map((l) => l.replace(/^migration [0-9a-f-]+: /, '').replace(/ \(\d+\.\ds\)$/, ''));
    expect(lines).toEqual([
      'requested',
      'planned → hv-10-254-7-12',
      'running pre-copy (precopy): 25% of memory processed, 192 MiB remaining, dirty rate 512 pages/s, iteration 1',
      'running pre-copy (precopy): 75% of memory processed, 64.0 MiB remaining, dirty rate 512 pages/s, iteration 1',
      'completed',
    ]);
    expect(r.stdout).toMatch(/^migration [0-9a-f-]+ completed \(hv-10-254-7-11 → hv-10-254-7-12, precopy\): 2\.4s \(predicted 2\.0s, \+20%\), downtime 35 ms \(predicted 30 ms\), 300 MiB transferred, 2 iterations\n$/);
    const polls = gw.requests.filter((q) => q.method === 'GET' && q.path.startsWith('/v1/migrations/'));
    expect(polls).toHaveLength(4);
  });

  it('migration cancel, show, list; a cancelled migration ends vm migrate --wait with exit 4', async () => {
    const vmId = await runningVm('mig-2');
    gw.migrationScript = [{ state: 'planned' }];
    const started = JSON.parse((await cli(gw.url, ['vm', 'migrate', vmId, '--strategy', 'postcopy', '--json'])).stdout);
    expect(started).toMatchObject({ vmId, state: 'requested', requestedStrategy: 'postcopy' });
    const cancel = await cli(gw.url, ['migration', 'cancel', started.id]);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toBe(`migration ${started.id}: cancel requested (it is requested; follow it with: minicloud migration show ${started.id})\n`);
    const show = await cli(gw.url, ['migration', 'show', started.id]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^state: +cancelled$/m);
    expect(show.stdout).toMatch(/^error: +cancelled by a user$/m);
    expect(show.stdout).toMatch(/^vm host: +hv-10-254-7-11$/m);
    const again = await cli(gw.url, ['migration', 'force-complete', started.id]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`cannot force-complete migration ${started.id}: it is already cancelled (409 Conflict)`);
    const list = JSON.parse((await cli(gw.url, ['migration', 'list', '--vm', 'mig-2', '--state', 'cancelled', '--json'])).stdout);
    expect(list).toMatchObject({ total: 1, items: [{ id: started.id, state: 'cancelled' }] });
    expect(gw.requests.find((q) => q.path === '/v1/migrations')!.query.get('vm')).toBe(vmId);

    gw.migrationScript = [{ state: 'planned' }, { state: 'cancelled', error: 'cancelled: downtime limit not reachable', vmHostId: gw.hosts[0].id }];
    const waited = await cli(gw.url, ['vm', 'migrate', vmId, '--wait']);
    expect(waited.code).toBe(4);
    expect(waited.stderr).toMatch(/minicloud: failed: migration [0-9a-f-]+ cancelled: cancelled: downtime limit not reachable/);

    const usage = await cli(gw.url, ['vm', 'migrate', vmId, '--mode', 'warm']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('--mode must be one of live, cold, got "warm"');
    const stopped = await cli(gw.url, ['vm', 'migrate', vmId, '--mode', 'cold']);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('cannot cold-migrate a VM that is running');
  });

  it('tools/minicloud works through a symlink, as installed in /usr/local/bin', async () => {
    const link = join(tmp, 'minicloud');
    symlinkSync(join(ROOT, 'tools', 'minicloud'), link);
    const help = await cli(gw.url, ['--help'], { bin: link, cwd: tmp });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: minicloud <command> [options]');
    const list = await cli(gw.url, ['hosts', 'list', '--json'], { bin: link, cwd: tmp });
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual({ items: [], total: 0 });
  });
});
