/**
 * The commands end to end inside the process: argv → the requests a fake API receives → stdout, stderr and the
 * exit code. (test/integration/cli runs the built CLI against a real HTTP server.)
 */
import type { Api, ApiResponse, Query } from './api-client';
import { run } from './cli';
import { ApiError, NetworkError, toErrorBody } from './errors';
import type { Clock } from './follow';

interface Call {
  method: string;
  path: string;
  query?: Query;
  body?: unknown;
  key?: string;
}
type Route = (call: Call) => Partial<ApiResponse> | Error;

const VM_ID = '0b0e5c8e-3b7a-4a57-9a59-2d6f0e6c1a11';
const vm = (over: Record<string, unknown> = {}) => ({
  id: VM_ID,
  name: 'web-1',
  status: 'requested',
  host: null,
  vcpus: 1,
  memoryMiB: 256,
  diskGiB: 1,
  image: { id: 'img-1', name: 'minicloud-lab' },
  reason: null,
  tags: {},
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

function refused(status: number, message: string, extra: Record<string, unknown> = {}) {
  const raw = { statusCode: status, error: ({ 404: 'Not Found', 409: 'Conflict', 422: 'Unprocessable Entity' } as Record<number, string>)[status] ?? 'Bad Request', message, ...extra };
  return new ApiError(status, toErrorBody(status, raw), 'X', 'http://api/x', raw);
}

function harness(route: Route, opts: { files?: Record<string, string>; env?: Record<string, string> } = {}) {
  const calls: Call[] = [];
  const out: string[] = [];
  const err: string[] = [];
  let t = 0;
  const clock: Clock = { now: () => t, sleep: async (ms) => void (t += ms) };
  const answer = async (c: Call): Promise<ApiResponse> => {
    calls.push(c);
    const r = route(c);
    if (r instanceof Error) throw r;
    return { status: 200, headers: {}, data: undefined, ...r };
  };
  const api: Api = {
    baseUrl: 'http://api',
    get: (path, query) => answer({ method: 'GET', path, query }),
    post: (path, body, key) => answer({ method: 'POST', path, body, key }),
    delete: (path) => answer({ method: 'DELETE', path }),
    patch: (path, body) => answer({ method: 'PATCH', path, body }),
  };
  let keys = 0;
  const exec = (...argv: string[]) =>
    run(argv, {
      env: opts.env ?? {},
      stdout: { write: (s: string) => out.push(s) },
      stderr: { write: (s: string) => err.push(s) },
      cwd: '/home/u',
      readFile: (p) => {
        const f = opts.files?.[p];
        if (f === undefined) throw new Error(`ENOENT: no such file, open '${p}'`);
        return f;
      },
      makeApi: () => api,
      clock,
      newKey: () => `key-${++keys}`,
      pollIntervalMs: 1000,
    });
  return { exec, calls, stdout: () => out.join(''), stderr: () => err.join('') };
}

describe('vm create', () => {
  it('posts the VM with sizes, keys from files, user data, tags and target host, with an Idempotency-Key', async () => {
    const h = harness(() => ({ status: 202, data: vm() }), {
      files: { '/home/u/id.pub': '# my key\nssh-ed25519 AAAAC3Nza me@x\n\nssh-rsa AAAAB3Nz other\n', '/etc/ud.yaml': '#cloud-config\n' },
    });
    const code = await h.exec('vm', 'create', 'web-1', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'minicloud-lab', '--ssh-key', 'id.pub', '--user-data', '/etc/ud.yaml', '--tag', 'team=web', '--host', 'hv1');
    expect(code).toBe(0);
    expect(h.calls).toEqual([
      {
        method: 'POST',
        path: '/v1/vms',
        key: 'key-1',
        body: { name: 'web-1', vcpus: 1, memoryMiB: 256, diskGiB: 1, image: 'minicloud-lab', targetHost: 'hv1', sshKeys: ['ssh-ed25519 AAAAC3Nza me@x', 'ssh-rsa AAAAB3Nz other'], userData: '#cloud-config\n', tags: { team: 'web' } },
      },
    ]);
    expect(h.stdout()).toContain(`VM web-1 requested (${VM_ID})`);
  });

  it('--storage shared puts the disk on the shared datastore; anything but local|shared is refused before posting', async () => {
    const h = harness(() => ({ status: 202, data: vm() }));
    expect(await h.exec('vm', 'create', 'web-1', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'lab', '--storage', 'shared')).toBe(0);
    expect(h.calls[0]).toMatchObject({ method: 'POST', path: '/v1/vms', body: { name: 'web-1', image: 'lab', storage: 'shared' } });
    expect(await h.exec('vm', 'create', 'web-2', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'lab', '--storage', 'nfs')).toBe(2);
    expect(h.stderr()).toContain('--storage must be one of local, shared, got "nfs"');
    expect(h.calls).toHaveLength(1);
  });

  it('takes the sizes from a flavor', async () => {
    const h = harness((c) => (c.method === 'GET' ? { data: { items: [{ name: 'small', vcpus: 2, memoryMiB: 1024, diskGiB: 10 }], total: 1 } } : { status: 202, data: vm() }));
    expect(await h.exec('vm', 'create', 'web-1', '--flavor', 'small', '--image', 'lab', '--idempotency-key', 'retry-me')).toBe(0);
    expect(h.calls[1]).toMatchObject({ method: 'POST', key: 'retry-me', body: { vcpus: 2, memoryMiB: 1024, diskGiB: 10, image: 'lab' } });
  });

  it('refuses an unknown flavor (exit 1) and incomplete sizes (exit 2) before creating anything', async () => {
    const h = harness((c) => (c.method === 'GET' ? { data: { items: [{ name: 'small', vcpus: 2, memoryMiB: 1024, diskGiB: 10 }], total: 1 } } : new Error('must not post')));
    expect(await h.exec('vm', 'create', 'x', '--flavor', 'huge', '--image', 'lab')).toBe(1);
    expect(h.stderr()).toContain('no flavor named "huge" (flavors: small)');
    expect(await h.exec('vm', 'create', 'x', '--vcpus', '1', '--image', 'lab')).toBe(2);
    expect(h.stderr()).toContain('missing --memory, --disk');
    expect(await h.exec('vm', 'create', 'x', '--flavor', 'small', '--vcpus', '1', '--image', 'lab')).toBe(2);
    expect(await h.exec('vm', 'create', 'x', '--flavor', 'small')).toBe(2);
    expect(await h.exec('vm', 'create', 'x', '--flavor', 'small', '--image', 'lab', '--ssh-key', 'missing.pub')).toBe(2);
    expect(h.stderr()).toContain('--ssh-key /home/u/missing.pub: ENOENT');
    expect(h.calls.filter((c) => c.method === 'POST')).toEqual([]);
  });

  it('prints the server refusal with every field reason and exits 1', async () => {
    const h = harness(() => refused(400, 'name: name must be 1-63 characters', { errors: [{ field: 'name', reason: 'name must be 1-63 characters' }] }));
    expect(await h.exec('vm', 'create', 'bad;name', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'lab')).toBe(1);
    expect(h.stderr()).toBe('minicloud: error: name: name must be 1-63 characters (400 Bad Request)\nminicloud:   name: name must be 1-63 characters\n');
  });

  it('--wait follows the VM to running and prints the final VM as JSON', async () => {
    const states = ['scheduled', 'provisioning', 'running'];
    const h = harness((c) => (c.method === 'POST' ? { status: 202, data: vm() } : { data: vm({ status: states.shift() ?? 'running', host: { id: 'h1', name: 'hv1', address: '10.0.0.1' } }) }));
    expect(await h.exec('vm', 'create', 'web-1', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'lab', '--wait', '--json')).toBe(0);
    expect(JSON.parse(h.stdout())).toMatchObject({ id: VM_ID, status: 'running', host: { name: 'hv1' } });
    expect(h.stderr()).toBe('VM web-1: scheduled (0.0s)\nVM web-1: provisioning (1.0s)\nVM web-1: running (2.5s)\n');
  });

  it('--wait exits 4 with the reason when the VM fails', async () => {
    const h = harness((c) => (c.method === 'POST' ? { status: 202, data: vm() } : { data: vm({ status: 'failed', reason: 'no valid host among 2 hosts: 2 lacked memory' }) }));
    expect(await h.exec('vm', 'create', 'web-1', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'lab', '--wait')).toBe(4);
    expect(h.stderr()).toContain('minicloud: failed: VM web-1 failed: no valid host among 2 hosts: 2 lacked memory');
  });

  it('--wait gives up after --timeout with exit 5', async () => {
    const h = harness((c) => (c.method === 'POST' ? { status: 202, data: vm() } : { data: vm({ status: 'provisioning' }) }));
    expect(await h.exec('vm', 'create', 'web-1', '--vcpus', '1', '--memory', '256', '--disk', '1', '--image', 'lab', '--wait', '--timeout', '10')).toBe(5);
    expect(h.stderr()).toContain('gave up waiting: VM web-1 still provisioning after 10.0s');
  });
});

describe('vm actions and delete', () => {
  it('posts the action, then follows the operation it returns to success', async () => {
    const opStates = ['running', 'succeeded'];
    const h = harness((c) =>
      c.method === 'POST' ? { status: 202, data: { operation: { id: 'op-1', vmId: VM_ID, action: 'stop', status: 'pending' } } } : { data: { id: 'op-1', action: 'stop', status: opStates.shift() } },
    );
    expect(await h.exec('vm', 'stop', VM_ID, '--wait', '--json')).toBe(0);
    expect(h.calls.map((c) => `${c.method} ${c.path}`)).toEqual([`POST /v1/vms/${VM_ID}/actions`, 'GET /v1/operations/op-1', 'GET /v1/operations/op-1']);
    expect(h.calls[0]).toMatchObject({ body: { action: 'stop' }, key: 'key-1' });
    expect(JSON.parse(h.stdout())).toEqual({ id: 'op-1', action: 'stop', status: 'succeeded' });
    expect(h.stderr()).toContain(`stop ${VM_ID}: pending`);
  });

  it('exits 4 with the reason when the operation fails', async () => {
    const h = harness((c) => (c.method === 'POST' ? { status: 202, data: { operation: { id: 'op-9', status: 'pending' } } } : { data: { id: 'op-9', status: 'failed', error: 'domain not found on host' } }));
    expect(await h.exec('vm', 'reboot', VM_ID, '--wait')).toBe(4);
    expect(h.stderr()).toContain('failed: reboot');
    expect(h.stderr()).toContain('domain not found on host');
  });

  it('resolves a VM name, and without --wait prints what was accepted', async () => {
    const h = harness((c) => (c.method === 'GET' ? { data: { items: [vm(), vm({ id: 'other', name: 'db-1' })], total: 2 } } : { status: 202, data: { operation: { id: 'op-2', status: 'pending' } } }));
    expect(await h.exec('vm', 'suspend', 'web-1')).toBe(0);
    expect(h.calls[1]).toMatchObject({ method: 'POST', path: `/v1/vms/${VM_ID}/actions`, body: { action: 'suspend' } });
    expect(h.stdout()).toBe('suspend web-1: accepted (operation op-2, pending)\n');
    expect(await h.exec('vm', 'start', 'nope')).toBe(1);
    expect(h.stderr()).toContain('no VM named "nope"');
  });

  it('delete --wait without an operation follows the VM until it is gone (404)', async () => {
    let polls = 0;
    const h = harness((c) => {
      if (c.method === 'DELETE') return { status: 202, data: vm({ status: 'deleting' }) };
      return ++polls < 3 ? { data: vm({ status: 'deleting' }) } : refused(404, 'VM not found');
    });
    expect(await h.exec('vm', 'delete', VM_ID, '--wait', '--json')).toBe(0);
    expect(JSON.parse(h.stdout())).toEqual({ id: VM_ID, status: 'deleted' });
  });

  it('a 409 (wrong state) exits 1 and, with --json, prints the server body on stdout', async () => {
    const h = harness(() => refused(409, 'cannot stop a VM that is stopped'));
    expect(await h.exec('vm', 'stop', VM_ID, '--json')).toBe(1);
    expect(JSON.parse(h.stdout())).toMatchObject({ statusCode: 409, message: 'cannot stop a VM that is stopped' });
    expect(h.stderr()).toContain('cannot stop a VM that is stopped (409 Conflict)');
  });
});

describe('vm list, show, console', () => {
  it('passes filters and pagination to the server and prints a table', async () => {
    const h = harness(() => ({ data: { items: [vm({ status: 'running', host: { id: 'h', name: 'hv1', address: null }, tags: { team: 'web' } })], total: 7 } }));
    expect(await h.exec('vm', 'list', '--status', 'running', '--host', 'hv1', '--limit', '1', '--offset', '2')).toBe(0);
    expect(h.calls[0]).toEqual({ method: 'GET', path: '/v1/vms', query: { status: 'running', host: 'hv1', limit: 1, offset: 2 } });
    const lines = h.stdout().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+STATUS\s+HOST\s+VCPUS\s+MEMORY\s+DISK\s+IMAGE\s+TAGS$/);
    expect(lines[1]).toMatch(new RegExp(`^${VM_ID}\\s+web-1\\s+running\\s+hv1\\s+1\\s+256 MiB\\s+1 GiB\\s+minicloud-lab\\s+team=web$`));
    expect(lines[2]).toBe('(1 of 7; use --limit/--offset)');
  });

  it('filters by tag on the client, over every page', async () => {
    const page1 = Array.from({ length: 500 }, (_, k) => vm({ id: `a${k}`, name: `a${k}`, tags: k % 100 === 0 ? { team: 'web' } : {} }));
    const page2 = [vm({ id: 'b', name: 'b', tags: { team: 'web', env: 'x' } })];
    const h = harness((c) => ({ data: { items: c.query?.offset === 0 ? page1 : page2, total: 501 } }));
    expect(await h.exec('vm', 'list', '--tag', 'team=web', '--json')).toBe(0);
    const doc = JSON.parse(h.stdout());
    expect(doc.total).toBe(6);
    expect(doc.items.map((v: { name: string }) => v.name)).toEqual(['a0', 'a100', 'a200', 'a300', 'a400', 'b']);
  });

  it('shows a VM and its console', async () => {
    const h = harness((c) => (c.path.endsWith('/console') ? { data: { lines: ['boot', 'MINICLOUD-GUEST BOOTED'] } } : { data: vm({ status: 'failed', reason: 'disk full' }) }));
    expect(await h.exec('vm', 'show', VM_ID)).toBe(0);
    expect(h.stdout()).toMatch(/status: +failed\nreason: +disk full\n/);
    expect(await h.exec('vm', 'console', VM_ID, '--lines', '2')).toBe(0);
    expect(h.calls[1]).toEqual({ method: 'GET', path: `/v1/vms/${VM_ID}/console`, query: { lines: 2 } });
    expect(h.stdout()).toContain('boot\nMINICLOUD-GUEST BOOTED\n');
  });
});

describe('hosts', () => {
  const host = (address: string, id: string, name: string) => ({ id, name, address, sshPort: 22, sshUser: 'root', state: 'up', stateReason: '', facts: { cpus: 2, cpuModel: 'x', memoryMiB: 4096, diskGiB: 20, arch: 'x86_64', hypervisorVersion: '7', libvirtVersion: '9' } });

  it('hosts add sends only what was given, accepting user@address:port', async () => {
    const h = harness(() => ({ status: 201, data: host('10.0.0.1', 'h1', 'hv1') }));
    expect(await h.exec('hosts', 'add', 'ops@10.0.0.1:2222', '--name', 'hv1')).toBe(0);
    expect(await h.exec('hosts', 'add', '10.0.0.1', '--port', '22')).toBe(0);
    expect(h.calls.map((c) => c.body)).toEqual([{ address: '10.0.0.1', sshPort: 2222, sshUser: 'ops', name: 'hv1' }, { address: '10.0.0.1', sshPort: 22 }]);
    expect(await h.exec('hosts', 'add', '10.0.0.1;reboot')).toBe(2);
  });

  it('hosts import uses the bulk endpoint and reports each line; exit 1 when one failed', async () => {
    const h = harness(() => ({ status: 200, data: { registered: [host('10.0.0.1', 'h1', 'hv1')], failed: [{ address: '10.0.0.2', error: 'ssh: connection refused' }] } }), {
      files: { '/home/u/hosts.txt': '# lab\n10.0.0.1\nadmin@10.0.0.2:2200\nnot valid\n' },
    });
    expect(await h.exec('hosts', 'import', 'hosts.txt')).toBe(1);
    expect(h.calls).toEqual([{ method: 'POST', path: '/v1/hosts/import', key: 'key-1', body: { hosts: [{ address: '10.0.0.1', sshPort: 22, sshUser: 'root' }, { address: '10.0.0.2', sshPort: 2200, sshUser: 'admin' }] } }]);
    expect(h.stdout()).toBe(
      'line 2: 10.0.0.1: registered as hv1 (h1)\nline 3: admin@10.0.0.2:2200: FAILED: ssh: connection refused\nline 4: not valid: FAILED: one host per line (found spaces)\n1 registered, 2 failed\n',
    );
  });

  it('hosts import falls back to one POST per line when there is no bulk endpoint', async () => {
    const h = harness((c) => {
      if (c.path === '/v1/hosts/import') return refused(404, 'Cannot POST /v1/hosts/import');
      const b = c.body as { address: string };
      return b.address === '10.0.0.9' ? refused(422, 'unreachable: connect ECONNREFUSED') : { status: 201, data: host(b.address, 'id-' + b.address, 'n-' + b.address) };
    }, { files: { '/tmp/h': '10.0.0.1\n10.0.0.9\n10.0.0.3:2222\n' } });
    expect(await h.exec('hosts', 'import', '/tmp/h', '--json')).toBe(1);
    expect(h.calls.map((c) => `${c.method} ${c.path} ${c.key}`)).toEqual(['POST /v1/hosts/import key-1', 'POST /v1/hosts key-2', 'POST /v1/hosts key-3', 'POST /v1/hosts key-4']);
    const doc = JSON.parse(h.stdout());
    expect(doc.registered.map((x: { address: string }) => x.address)).toEqual(['10.0.0.1', '10.0.0.3']);
    expect(doc.failed).toEqual([{ address: '10.0.0.9', line: 2, error: 'unreachable: connect ECONNREFUSED (422 Unprocessable Entity)' }]);
  });

  it('hosts import: all good → exit 0; a missing file → exit 1', async () => {
    const h = harness((c) => ({ status: 200, data: { registered: (c.body as { hosts: { address: string }[] }).hosts.map((x, k) => host(x.address, `h${k}`, `hv${k}`)), failed: [] } }), { files: { '/a': '10.0.0.1\n10.0.0.2\n' } });
    expect(await h.exec('hosts', 'import', '/a')).toBe(0);
    expect(h.stdout()).toContain('2 registered, 0 failed');
    expect(await h.exec('hosts', 'import', '/nope')).toBe(1);
    expect(h.stderr()).toContain('cannot read /nope');
  });

  it('disable/enable/remove resolve a host name; a refused removal lists the VMs on the host', async () => {
    const hv = host('10.0.0.1', 'a3c9a2a4-7d0e-4f44-9b0c-6b8f8a1e0c55', 'hv1');
    const h = harness((c) => {
      if (c.method === 'GET') return { data: { items: [hv], total: 1 } };
      if (c.method === 'DELETE') return refused(409, 'host hv1 still has 1 VM', { vms: [{ id: VM_ID, name: 'web-1', status: 'running' }] });
      return { data: { ...hv, state: c.path.endsWith('disable') ? 'disabled' : 'up' } };
    });
    expect(await h.exec('hosts', 'disable', 'hv1', '--reason', 'maintenance')).toBe(0);
    expect(h.calls[1]).toMatchObject({ method: 'POST', path: `/v1/hosts/${hv.id}/disable`, body: { reason: 'maintenance' } });
    expect(h.stdout()).toBe('Host hv1 disabled (state disabled)\n');
    expect(await h.exec('hosts', 'enable', '10.0.0.1')).toBe(0);
    expect(h.calls[3]).toMatchObject({ method: 'POST', path: `/v1/hosts/${hv.id}/enable` });
    expect(await h.exec('hosts', 'remove', 'hv1')).toBe(1);
    expect(h.stderr()).toContain(`minicloud:     web-1 ${VM_ID} (running)`);
  });
});

describe('images and flavors', () => {
  it('images add makes paths absolute and names the image after the file', async () => {
    const h = harness((c) => ({ status: 201, data: { id: 'i1', ...(c.body as object) } }));
    expect(await h.exec('images', 'add', 'imgs/lab.qcow2', '--kernel', '/k/vmlinuz', '--initrd', 'initrd.img', '--cmdline', 'console=ttyS0')).toBe(0);
    expect(h.calls[0].body).toEqual({ name: 'lab', path: '/home/u/imgs/lab.qcow2', kernelPath: '/k/vmlinuz', initrdPath: '/home/u/initrd.img', cmdline: 'console=ttyS0' });
  });

  it('flavors create/delete/list', async () => {
    const h = harness((c) => (c.method === 'GET' ? { data: [{ name: 'small', vcpus: 1, memoryMiB: 512, diskGiB: 5 }] } : c.method === 'POST' ? { status: 201, data: c.body } : { status: 204, data: '' }));
    expect(await h.exec('flavors', 'create', 'small', '--vcpus', '1', '--memory', '512', '--disk', '5')).toBe(0);
    expect(h.calls[0]).toMatchObject({ method: 'POST', path: '/v1/flavors', body: { name: 'small', vcpus: 1, memoryMiB: 512, diskGiB: 5 } });
    expect(await h.exec('flavors', 'create', 'tiny', '--vcpus', '1')).toBe(2);
    expect(await h.exec('flavors', 'list')).toBe(0);
    expect(h.stdout()).toMatch(/NAME\s+VCPUS\s+MEMORY\s+DISK\nsmall\s+1\s+512 MiB\s+5 GiB\n/);
    expect(await h.exec('flavors', 'delete', 'small', '--json')).toBe(0);
    expect(h.calls[h.calls.length - 1]).toEqual({ method: 'DELETE', path: '/v1/flavors/small' });
    expect(h.stdout().trim().endsWith('null')).toBe(true);
  });
});

describe('global behaviour', () => {
  it('uses MINICLOUD_API unless --api is given, and refuses a malformed one (exit 2)', async () => {
    const seen: string[] = [];
    const base = { stdout: { write: () => 0 }, stderr: { write: () => 0 }, cwd: '/', readFile: () => '' };
    const makeApi = (u: string): Api => {
      seen.push(u);
      const ok = async (): Promise<ApiResponse<any>> => ({ status: 200, data: { items: [], total: 0 }, headers: {} });
      return { baseUrl: u, get: ok, post: ok, delete: ok, patch: ok };
    };
    expect(await run(['vm', 'list'], { ...base, env: { MINICLOUD_API: 'http://env:1' }, makeApi })).toBe(0);
    expect(await run(['vm', 'list', '--api', 'http://flag:2/'], { ...base, env: { MINICLOUD_API: 'http://env:1' }, makeApi })).toBe(0);
    expect(await run(['vm', 'list'], { ...base, env: {}, makeApi })).toBe(0);
    expect(seen).toEqual(['http://env:1', 'http://flag:2', 'http://127.0.0.1:8080']);
    expect(await run(['vm', 'list', '--api', 'localhost'], { ...base, env: {}, makeApi })).toBe(2);
  });

  it('an unreachable server exits 3 and says where it tried', async () => {
    const h = harness(() => new NetworkError('ECONNREFUSED', 'GET', 'http://127.0.0.1:9/v1/hosts', 'connect ECONNREFUSED'));
    expect(await h.exec('hosts', 'list')).toBe(3);
    expect(h.stderr()).toContain('cannot reach the minicloud API at http://127.0.0.1:9: connection refused');
  });

  it('a 5xx exits 3', async () => {
    const raw = { statusCode: 503, error: 'Service Unavailable', message: 'no provisioner is answering' };
    const h = harness(() => new ApiError(503, toErrorBody(503, raw), 'POST', 'u', raw));
    expect(await h.exec('hosts', 'add', '10.0.0.1')).toBe(3);
    expect(h.stderr()).toContain('no provisioner is answering (503 Service Unavailable)');
  });

  it('every POST of one run gets its own key; --idempotency-key K gives K, K-2, ...', async () => {
    const h = harness((c) => (c.path === '/v1/hosts/import' ? refused(404, 'Cannot POST') : { status: 201, data: { id: 'x', name: 'x', address: (c.body as { address: string }).address } }), { files: { '/f': 'a\nb\n' } });
    expect(await h.exec('hosts', 'import', '/f', '--idempotency-key', 'K')).toBe(0);
    expect(h.calls.map((c) => c.key)).toEqual(['K', 'K-2', 'K-3']);
  });

  it('prints help and exits 0; a usage error exits 2 and points at help', async () => {
    const h = harness(() => new Error('no request expected'));
    expect(await h.exec('vm', 'create', '--help')).toBe(0);
    expect(h.stdout()).toContain('Usage: minicloud vm create NAME [options]');
    expect(await h.exec('vm', 'show')).toBe(2);
    expect(h.stderr()).toBe('minicloud: usage error: missing VM\nminicloud: Run "minicloud vm show --help" for usage.\n');
    expect(h.calls).toEqual([]);
  });
});

describe('vm migrate and migrations', () => {
  const MIG = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
  const HV1 = '11111111-1111-4111-8111-111111111111';
  const HV2 = '22222222-2222-4222-8222-222222222222';
  const MiB = 1024 * 1024;
  const hosts = { data: { items: [{ id: HV1, name: 'hv1' }, { id: HV2, name: 'hv2' }], total: 2 } };
  const mig = (over: Record<string, unknown> = {}) => ({
    id: MIG,
    vmId: VM_ID,
    state: 'requested',
    origin: 'manual',
    mode: 'live',
    storage: 'copy',
    requestedStrategy: 'auto',
    strategy: null,
    strategyReason: null,
    sourceHostId: HV1,
    targetHostId: HV2,
    maxDowntimeMs: null,
    bandwidthMiBs: null,
    reason: 'requested by a client',
    stage: null,
    progress: null,
    predictions: null,
    dirtyRateMiBs: null,
    result: null,
    stages: [],
    vmHostId: null,
    error: null,
    requestedAt: '2026-01-01T00:00:00.000Z',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  });
  const prog = (processed: number, remaining: number, dirty: number) => ({
    memoryProcessedBytes: processed * MiB,
    memoryRemainingBytes: remaining * MiB,
    memoryTotalBytes: 512 * MiB,
    dataTransferredBytes: null,
    iteration: 1,
    dirtyRatePagesPerSec: dirty,
    expectedDowntimeMs: null,
    elapsedMs: null,
    at: '2026-01-01T00:00:01.000Z',
  });
  const result = { totalTimeMs: 5000, downtimeMs: 42, dataTransferredBytes: 610 * MiB, iterations: 3, compressedBytes: null, compressionCacheMisses: null, predictedTotalTimeMs: 4000, predictedDowntimeMs: 30, totalTimeError: 0.25 };

  it('posts what was asked (a VM name resolved), with an Idempotency-Key, and says how to follow it', async () => {
    const h = harness((c) => (c.method === 'GET' ? { data: { items: [vm()], total: 1 } } : { status: 202, data: mig() }));
    expect(await h.exec('vm', 'migrate', 'web-1', '--to', 'hv2', '--mode', 'live', '--storage', 'shared', '--strategy', 'postcopy', '--max-downtime', '300', '--bandwidth', '100')).toBe(0);
    expect(h.calls[1]).toEqual({
      method: 'POST',
      path: `/v1/vms/${VM_ID}/migrate`,
      key: 'key-1',
      body: { targetHost: 'hv2', mode: 'live', storage: 'shared', strategy: 'postcopy', maxDowntimeMs: 300, bandwidthMiBs: 100 },
    });
    expect(h.stdout()).toBe(`migration ${MIG} of VM web-1 requested (to hv2)\nFollow it with: minicloud migration show ${MIG}\n`);
    expect(await h.exec('vm', 'migrate', VM_ID, '--json')).toBe(0);
    expect(h.calls[2]).toMatchObject({ method: 'POST', body: {} });
  });

  it('refuses bad choices before sending anything (exit 2)', async () => {
    const h = harness(() => new Error('no request expected'));
    expect(await h.exec('vm', 'migrate', VM_ID, '--mode', 'warm')).toBe(2);
    expect(h.stderr()).toContain('--mode must be one of live, cold, got "warm"');
    expect(await h.exec('vm', 'migrate', VM_ID, '--strategy', 'teleport')).toBe(2);
    expect(await h.exec('vm', 'migrate', VM_ID, '--max-downtime', '0')).toBe(2);
    expect(await h.exec('vm', 'migrate', VM_ID, '--bandwidth', '100001')).toBe(2);
    expect(h.stderr()).toContain('--bandwidth must be at most 100000, got 100001');
    expect(await h.exec('migration', 'list', '--state', 'paused')).toBe(2);
    expect(h.calls).toEqual([]);
  });

  it('--wait polls every second, prints one line per change and ends with the result', async () => {
    const polls = [
      mig({ state: 'planned' }),
      mig({ state: 'planned' }),
      mig({ state: 'running', stage: 'pre-copy', strategy: 'precopy', progress: prog(128, 384, 2048) }),
      mig({ state: 'running', stage: 'pre-copy', strategy: 'precopy', progress: prog(128, 384, 2048) }),
      mig({ state: 'running', stage: 'stop-and-copy', strategy: 'precopy', progress: prog(520, 2, 100) }),
      mig({ state: 'completed', stage: 'activation', strategy: 'precopy', progress: prog(520, 0, 100), result }),
    ];
    const h = harness((c) => {
      if (c.path === '/v1/hosts') return hosts;
      if (c.method === 'POST') return { status: 202, data: mig() };
      return { data: polls.shift() };
    });
    expect(await h.exec('vm', 'migrate', VM_ID, '--to', 'hv2', '--wait')).toBe(0);
    const gets = h.calls.filter((c) => c.path === `/v1/migrations/${MIG}`);
    expect(gets).toHaveLength(6);
    expect(h.stderr()).toBe(
      [
        `migration ${MIG}: requested (0.0s)`,
        `migration ${MIG}: planned → hv2 (1.0s)`,
        `migration ${MIG}: running pre-copy (precopy): 25% of memory processed, 384 MiB remaining, dirty rate 2048 pages/s, iteration 1 (3.0s)`,
        `migration ${MIG}: running stop-and-copy (precopy): 101% of memory processed, 2.0 MiB remaining, dirty rate 100 pages/s, iteration 1 (5.0s)`,
        `migration ${MIG}: completed (6.0s)`,
        '',
      ].join('\n'),
    );
    expect(h.stdout()).toBe(`migration ${MIG} completed (hv1 → hv2, precopy): 5.0s (predicted 4.0s, +25%), downtime 42 ms (predicted 30 ms), 610 MiB transferred, 3 iterations\n`);
  });

  it('--wait exits 4 with the error when the migration is cancelled or fails; --json prints the last view', async () => {
    const polls = [mig({ state: 'running', stage: 'pre-copy' }), mig({ state: 'cancelled', error: 'cancelled by a user', vmHostId: HV1 })];
    const h = harness((c) => (c.path === '/v1/hosts' ? hosts : c.method === 'POST' ? { status: 202, data: mig() } : { data: polls.shift() }));
    expect(await h.exec('vm', 'migrate', VM_ID, '--wait', '--json')).toBe(4);
    expect(h.stderr()).toContain(`minicloud: failed: migration ${MIG} cancelled: cancelled by a user`);
    expect(JSON.parse(h.stdout())).toMatchObject({ state: 'cancelled', vmHostId: HV1 });

    const f = harness((c) => (c.path === '/v1/hosts' ? new Error('hosts unavailable') : c.method === 'POST' ? { status: 202, data: mig() } : { data: mig({ state: 'failed', error: 'virsh migrate: connection refused' }) }));
    expect(await f.exec('vm', 'migrate', VM_ID, '--wait')).toBe(4);
    expect(f.stderr()).toContain('failed: virsh migrate: connection refused');
  });

  it('a 409 from the server exits 1 with its message', async () => {
    const h = harness(() => refused(409, 'cannot live-migrate a VM that is stopped (a live migration needs a running VM)', { state: 'stopped' }));
    expect(await h.exec('vm', 'migrate', VM_ID)).toBe(1);
    expect(h.stderr()).toBe('minicloud: error: cannot live-migrate a VM that is stopped (a live migration needs a running VM) (409 Conflict)\n');
  });

  it('migration list filters by VM (name resolved) and state and prints a table with host names', async () => {
    const h = harness((c) => {
      if (c.path === '/v1/vms') return { data: { items: [vm()], total: 1 } };
      if (c.path === '/v1/hosts') return hosts;
      return { data: { items: [mig({ state: 'running', stage: 'pre-copy', strategy: 'precopy', progress: prog(256, 256, 10) })], total: 3 } };
    });
    expect(await h.exec('migration', 'list', '--vm', 'web-1', '--state', 'running', '--limit', '1')).toBe(0);
    expect(h.calls.find((c) => c.path === '/v1/migrations')).toEqual({ method: 'GET', path: '/v1/migrations', query: { vm: VM_ID, state: 'running', limit: 1, offset: undefined } });
    const lines = h.stdout().split('\n');
    expect(lines[0]).toMatch(/^ID\s+VM\s+STATE\s+MODE\s+STRATEGY\s+FROM\s+TO\s+STAGE\s+PROGRESS\s+REQUESTED$/);
    expect(lines[1]).toMatch(new RegExp(`^${MIG}\\s+${VM_ID}\\s+running\\s+live\\s+precopy\\s+hv1\\s+hv2\\s+pre-copy\\s+50%\\s+2026-01-01T00:00:00.000Z$`));
    expect(lines[2]).toBe('(1 of 3; use --limit/--offset)');
  });

  it('migration show prints the details; cancel and force-complete post to the migration', async () => {
    const h = harness((c) => {
      if (c.path === '/v1/hosts') return hosts;
      if (c.method === 'POST') return { status: 202, data: mig({ state: 'running' }) };
      return { data: mig({ state: 'completed', strategy: 'precopy', strategyReason: 'converges', result, stages: [{ stage: 'activation', at: '2026-01-01T00:00:06.000Z' }] }) };
    });
    expect(await h.exec('migration', 'show', MIG)).toBe(0);
    expect(h.stdout()).toMatch(/^state: +completed$/m);
    expect(h.stdout()).toMatch(/^to: +hv2$/m);
    expect(h.stdout()).toMatch(/^result: +5.0s \(predicted 4.0s, \+25%\)/m);
    expect(await h.exec('migration', 'cancel', MIG)).toBe(0);
    expect(await h.exec('migrations', 'force-complete', MIG, '--json')).toBe(0);
    const posts = h.calls.filter((c) => c.method === 'POST');
    expect(posts).toEqual([
      { method: 'POST', path: `/v1/migrations/${MIG}/cancel`, body: {}, key: 'key-1' },
      { method: 'POST', path: `/v1/migrations/${MIG}/force-complete`, body: {}, key: 'key-2' },
    ]);
    expect(h.stdout()).toContain(`migration ${MIG}: cancel requested (it is running; follow it with: minicloud migration show ${MIG})\n`);
    expect(JSON.parse(h.stdout().slice(h.stdout().lastIndexOf('{\n  "id"')))).toMatchObject({ id: MIG, state: 'running' });
  });

  it('vm show names the unfinished migration of a migrating VM', async () => {
    const h = harness(() => ({ data: vm({ status: 'migrating', host: { id: HV1, name: 'hv1', address: null }, migration: { id: MIG, state: 'running', stage: 'pre-copy', targetHostId: HV2 } }) }));
    expect(await h.exec('vm', 'show', VM_ID)).toBe(0);
    expect(h.stdout()).toMatch(/^status: +migrating$/m);
    expect(h.stdout()).toMatch(new RegExp(`^migration: +${MIG} \\(running, pre-copy\\)$`, 'm'));
  });

  it('vm show and vm list say a VM waits in the scheduler queue (place, priority, why), or was preempted (by whom, why)', async () => {
    const queued = { state: 'queued', since: '2026-11-28T10:00:00.000Z', reason: 'no valid host among 2 hosts: 2 lacked memory', priority: 4, deadline: '2026-11-28T11:00:00.000Z', waitedSeconds: 95, position: 3, effectivePriority: 3 };
    let h = harness(() => ({ data: vm({ status: 'requested', host: null, scheduling: queued }) }));
    expect(await h.exec('vm', 'show', VM_ID)).toBe(0);
    expect(h.stdout()).toMatch(/^status: +requested \(queued #3\)$/m);
    expect(h.stdout()).toMatch(/^queued: +#3 in the scheduler queue, priority 4 \(aged to 3\), waiting 1m35s, deadline 2026-11-28T11:00:00.000Z$/m);
    expect(h.stdout()).toMatch(/^waiting for: +no valid host among 2 hosts: 2 lacked memory$/m);

    const by = '99999999-9999-4999-8999-999999999999';
    const preempted = { state: 'preempted', at: '2026-11-28T10:05:00.000Z', hostId: HV1, action: 'stop', targetHostId: null, preemptedByVmId: by, reservationId: null, reason: `preempted by VM ${by} (priority 1) on host hv1` };
    h = harness(() => ({ data: { items: [vm({ status: 'stopped', scheduling: preempted }), vm({ status: 'requested', host: null, scheduling: { ...queued, position: null } })], total: 2 } }));
    expect(await h.exec('vm', 'list')).toBe(0);
    expect(h.stdout()).toContain('stopped (preempted)');
    expect(h.stdout()).toMatch(/requested \(queued\) /);
    h = harness(() => ({ data: vm({ status: 'stopped', scheduling: preempted }) }));
    expect(await h.exec('vm', 'show', VM_ID)).toBe(0);
    expect(h.stdout()).toMatch(new RegExp(`^preempted: +2026-11-28T10:05:00.000Z by VM ${by} \\(stopped\\)$`, 'm'));
    expect(h.stdout()).toMatch(/^preempted because: +preempted by VM .* on host hv1$/m);

    const moving = { ...preempted, action: 'migrate', targetHostId: HV2, migrationId: MIG };
    h = harness(() => ({ data: vm({ status: 'migrating', scheduling: moving }) }));
    expect(await h.exec('vm', 'show', VM_ID)).toBe(0);
    expect(h.stdout()).toMatch(/^status: +migrating \(preempted, moving\)$/m);
    expect(h.stdout()).toMatch(new RegExp(`^preempted: +2026-11-28T10:05:00.000Z by VM ${by} \\(being moved to ${HV2} by migration ${MIG}\\)$`, 'm'));
  });

  it('vm show says where the disk lives', async () => {
    const h = harness(() => ({ data: vm({ diskGiB: 2, storage: 'shared' }) }));
    expect(await h.exec('vm', 'show', VM_ID)).toBe(0);
    expect(h.stdout()).toMatch(/^disk: +2 GiB \(shared\)$/m);
  });
});

describe('planner, recommendations and host maintenance', () => {
  const REC = '3f2b8c1e-5d6a-4e7f-9a0b-1c2d3e4f5a6b';
  const MIG = '7c9e6679-7425-40de-944b-e07fc1f90ae7';
  const HV1 = '11111111-1111-4111-8111-111111111111';
  const HV2 = '22222222-2222-4222-8222-222222222222';
  const MiB = 1024 * 1024;
  const hosts = { data: { items: [{ id: HV1, name: 'hv1', address: '10.0.0.1' }, { id: HV2, name: 'hv2', address: '10.0.0.2' }], total: 2 } };
  const rec = (over: Record<string, unknown> = {}) => ({
    id: REC,
    kind: 'balance',
    vmId: VM_ID,
    sourceHostId: HV1,
    targetHostId: HV2,
    reason: 'hv1 score 0.82 vs hv2 0.21',
    gapBefore: 0.61,
    gapAfter: 0.07,
    state: 'open',
    migrationId: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    ...over,
  });
  const settings = (over: Record<string, unknown> = {}) => ({ automation: 'manual', consolidation: false, balanceThreshold: 0.25, hotSpotRounds: 3, cooldownSeconds: 600, intervalSeconds: 30, ...over });

  it('migration recommendations passes --state and prints a table with host names', async () => {
    const h = harness((c) => (c.path === '/v1/hosts' ? hosts : { data: { items: [rec()], total: 1 } }));
    expect(await h.exec('migration', 'recommendations', '--state', 'open')).toBe(0);
    expect(h.calls[0]).toEqual({ method: 'GET', path: '/v1/migrations/recommendations', query: { state: 'open' } });
    const lines = h.stdout().split('\n');
    expect(lines[0]).toMatch(/^ID\s+KIND\s+VM\s+FROM\s+TO\s+GAP\s+STATE\s+MIGRATION\s+CREATED\s+REASON$/);
    expect(lines[1]).toMatch(new RegExp(`^${REC}\\s+balance\\s+${VM_ID}\\s+hv1\\s+hv2\\s+0.61 → 0.07\\s+open\\s+-\\s+2026-01-01T00:00:00.000Z\\s+hv1 score 0.82 vs hv2 0.21$`));
    expect(await h.exec('migration', 'recommendations', '--json')).toBe(0);
    expect(h.calls[2]).toEqual({ method: 'GET', path: '/v1/migrations/recommendations', query: { state: undefined } });
    expect(await h.exec('migration', 'recommendations', '--state', 'new')).toBe(2);
    expect(h.stderr()).toContain('--state must be one of open, applied, dismissed, expired, got "new"');
  });

  it('migration apply posts to the recommendation and says which migration to follow; dismiss likewise', async () => {
    const h = harness((c) => (c.path.endsWith('/apply') ? { status: 202, data: rec({ state: 'applied', migrationId: MIG }), headers: { location: `/v1/migrations/${MIG}` } } : { data: rec({ state: 'dismissed' }) }));
    expect(await h.exec('migration', 'apply', REC)).toBe(0);
    expect(await h.exec('migration', 'dismiss', REC)).toBe(0);
    expect(h.calls).toEqual([
      { method: 'POST', path: `/v1/migrations/recommendations/${REC}/apply`, body: {}, key: 'key-1' },
      { method: 'POST', path: `/v1/migrations/recommendations/${REC}/dismiss`, body: {}, key: 'key-2' },
    ]);
    expect(h.stdout()).toBe(`recommendation ${REC} applied: migration ${MIG} of VM ${VM_ID}\nFollow it with: minicloud migration show ${MIG}\nrecommendation ${REC} dismissed\n`);
  });

  it("a recommendation that is no longer open exits 1 with the server's message", async () => {
    const h = harness(() => refused(409, `recommendation ${REC} is dismissed, not open`));
    expect(await h.exec('migration', 'apply', REC)).toBe(1);
    expect(h.stderr()).toBe(`minicloud: error: recommendation ${REC} is dismissed, not open (409 Conflict)\n`);
  });

  it('planner show prints the settings; planner set patches only what was given', async () => {
    const h = harness((c) => (c.method === 'PATCH' ? { data: settings({ automation: 'automatic', consolidation: true }) } : { data: settings() }));
    expect(await h.exec('planner', 'show')).toBe(0);
    expect(h.stdout()).toMatch(/^automation: +manual \(recommendations are listed; apply them by id\)$/m);
    expect(h.stdout()).toMatch(/^consolidation: +off$/m);
    expect(await h.exec('planner', 'set', '--automation', 'automatic', '--consolidation', 'on')).toBe(0);
    expect(await h.exec('planner', 'set', '--consolidation', 'off', '--json')).toBe(0);
    expect(h.calls.filter((c) => c.method === 'PATCH')).toEqual([
      { method: 'PATCH', path: '/v1/scheduler/planner', body: { automation: 'automatic', consolidation: true } },
      { method: 'PATCH', path: '/v1/scheduler/planner', body: { consolidation: false } },
    ]);
    expect(h.stdout()).toMatch(/^automation: +automatic \(the planner starts its migrations\)$/m);
    expect(h.stdout()).toMatch(/^consolidation: +on$/m);
  });

  it('planner set refuses bad or missing values before sending anything (exit 2)', async () => {
    const h = harness(() => new Error('no request expected'));
    expect(await h.exec('planner', 'set', '--automation', 'sometimes')).toBe(2);
    expect(h.stderr()).toContain('--automation must be one of manual, automatic, got "sometimes"');
    expect(await h.exec('planner', 'set', '--consolidation', 'yes')).toBe(2);
    expect(await h.exec('planner', 'set')).toBe(2);
    expect(h.stderr()).toContain('give --automation and/or --consolidation');
    expect(h.calls).toEqual([]);
  });

  it('host maintenance resolves the host, posts enter (or exit) and prints the drain', async () => {
    const drain = { hostId: HV1, state: 'draining', remainingVms: 2, migrationIds: [MIG], blocked: [{ vmId: VM_ID, reason: 'no other host has 4096 MiB free' }] };
    const h = harness((c) => (c.path === '/v1/hosts' ? hosts : c.path.endsWith('/exit') ? { data: { hostId: HV1, state: 'up', remainingVms: 0, migrationIds: [], blocked: [] } } : { status: 202, data: drain }));
    expect(await h.exec('host', 'maintenance', 'hv1')).toBe(0);
    expect(h.calls[1]).toEqual({ method: 'POST', path: `/v1/hosts/${HV1}/maintenance`, body: {}, key: 'key-1' });
    expect(h.stdout()).toBe(
      [
        'Host hv1: draining, 2 VMs remaining, 1 migration planned',
        `  migration ${MIG}`,
        `  blocked: VM ${VM_ID}: no other host has 4096 MiB free`,
        'Follow it with: minicloud hosts show hv1 (state maintenance once drained) and minicloud migration list --state running',
        '',
      ].join('\n'),
    );
    expect(await h.exec('hosts', 'maintenance', HV1, '--exit', '--json')).toBe(0);
    expect(h.calls[2]).toEqual({ method: 'POST', path: `/v1/hosts/${HV1}/maintenance/exit`, body: {}, key: 'key-2' });
    expect(JSON.parse(h.stdout().slice(h.stdout().indexOf('{')))).toEqual({ hostId: HV1, state: 'up', remainingVms: 0, migrationIds: [], blocked: [] });
  });

  it('host maintenance --wait polls the host and the running migrations (never re-posting) until it is in maintenance', async () => {
    const running = (pct: number) => ({ id: MIG, vmId: VM_ID, state: 'running', sourceHostId: HV1, targetHostId: HV2, stage: 'pre-copy', progress: { memoryProcessedBytes: pct * 5.12 * MiB, memoryTotalBytes: 512 * MiB, memoryRemainingBytes: 0 } });
    const other = { id: 'other', vmId: 'vm-x', state: 'running', sourceHostId: HV2, targetHostId: 'h3', stage: 'pre-copy', progress: null };
    const polls = [
      { host: { id: HV1, name: 'hv1', state: 'up', vmCount: 1 }, migrations: [running(25), other] },
      { host: { id: HV1, name: 'hv1', state: 'up', vmCount: 1 }, migrations: [running(25), other] },
      { host: { id: HV1, name: 'hv1', state: 'up', vmCount: 1 }, migrations: [running(75)] },
      { host: { id: HV1, name: 'hv1', state: 'up', vmCount: 0 }, migrations: [] },
      { host: { id: HV1, name: 'hv1', state: 'maintenance', vmCount: 0 }, migrations: [] },
    ];
    let current = polls[0];
    const h = harness((c) => {
      if (c.path === '/v1/hosts') return hosts;
      if (c.method === 'POST') return { status: 202, data: { hostId: HV1, state: 'draining', remainingVms: 1, migrationIds: [MIG], blocked: [] } };
      if (c.path === `/v1/hosts/${HV1}`) {
        current = polls.shift() ?? current;
        return { data: current.host };
      }
      if (c.path === '/v1/migrations') return { data: { items: current.migrations, total: current.migrations.length } };
      return new Error(`unexpected ${c.method} ${c.path}`);
    });
    expect(await h.exec('host', 'maintenance', 'hv1', '--wait')).toBe(0);
    expect(h.calls.filter((c) => c.method === 'POST')).toHaveLength(1);
    expect(h.calls.filter((c) => c.path === `/v1/hosts/${HV1}`)).toHaveLength(5);
    expect(h.calls.find((c) => c.path === '/v1/migrations')).toEqual({ method: 'GET', path: '/v1/migrations', query: { state: 'running', limit: 500 } });
    expect(h.stderr()).toBe(
      [
        `host hv1: draining (host up), 1 VM on it, 1 migration running: ${VM_ID} → hv2 25% (0.0s)`,
        `host hv1: draining (host up), 1 VM on it, 1 migration running: ${VM_ID} → hv2 75% (2.0s)`,
        'host hv1: draining (host up), 0 VMs on it, 0 migrations running (3.0s)',
        'host hv1: maintenance (4.0s)',
        '',
      ].join('\n'),
    );
    expect(h.stdout()).toBe('Host hv1: draining, 1 VM remaining, 1 migration planned\n' + `  migration ${MIG}\n` + 'Host hv1 is in maintenance (it takes no VM)\n');
  });

  it('host maintenance --wait gives up after --timeout (exit 5); an unknown host exits 1 before posting', async () => {
    const h = harness((c) => {
      if (c.path === '/v1/hosts') return hosts;
      if (c.method === 'POST') return { status: 202, data: { hostId: HV1, state: 'draining', remainingVms: 1, migrationIds: [], blocked: [{ vmId: VM_ID, reason: 'no room' }] } };
      if (c.path === '/v1/migrations') return { data: { items: [], total: 0 } };
      return { data: { id: HV1, name: 'hv1', state: 'up', vmCount: 1 } };
    });
    expect(await h.exec('host', 'maintenance', 'hv1', '--wait', '--timeout', '5')).toBe(5);
    expect(h.stderr()).toContain('gave up waiting: host hv1 still up after 5.0s');
    expect(await h.exec('host', 'maintenance', 'hv9')).toBe(1);
    expect(h.stderr()).toContain('no host named "hv9"');
    expect(h.calls.filter((c) => c.method === 'POST')).toHaveLength(1);
  });
});
