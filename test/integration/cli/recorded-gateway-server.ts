/**
 * recordedGatewayServer: a small real HTTP server that answers like the minicloud gateway (same paths, status
 * codes and error bodies) from in-memory state, and records every request it got. It lets the integration test
 * run the built CLI as a child process without the five services. The lifecycle it plays (VM statuses advancing
 * one step per GET, operations finishing after a few polls) is scripted per test.
 */
import { randomUUID } from 'crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'http';

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: any;
}

export interface FakeVm {
  id: string;
  name: string;
  status: string;
  host: { id: string; name: string; address: string } | null;
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  image: { id: string; name: string };
  reason: string | null;
  tags: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  /** Statuses the VM goes through, one per GET. */
  script: string[];
}

export interface FakeOperation {
  id: string;
  vmId: string;
  action: string;
  status: string;
  error?: string;
  script: { status: string; error?: string }[];
}

/** A migration as GET /v1/migrations/:id answers it, plus the steps it still goes through (one per GET). */
export interface FakeMigration {
  view: Record<string, any>;
  script: Record<string, any>[];
}

const MiB = 1024 * 1024;
const FINISHED = ['completed', 'failed', 'cancelled'];

/** The default life of a migration: planned, two progress reports, completed with figures. */
export function defaultMigrationScript(): Record<string, any>[] {
  const progress = (processed: number, remaining: number, dirty: number) => ({
    memoryProcessedBytes: processed * MiB, memoryRemainingBytes: remaining * MiB, memoryTotalBytes: 256 * MiB,
    dataTransferredBytes: processed * MiB, iteration: 1, dirtyRatePagesPerSec: dirty, expectedDowntimeMs: null, elapsedMs: null, at: new Date().toISOString(),
  });
  return [
    { state: 'planned', stage: 'reservation', reason: 'hv2: most free memory' },
    { state: 'running', stage: 'pre-copy', strategy: 'precopy', strategyReason: 'converges', progress: progress(64, 192, 512) },
    { state: 'running', stage: 'pre-copy', strategy: 'precopy', progress: progress(192, 64, 512) },
    {
      state: 'completed', stage: 'activation',
      result: { totalTimeMs: 2400, downtimeMs: 35, dataTransferredBytes: 300 * MiB, iterations: 2, compressedBytes: null, compressionCacheMisses: null, predictedTotalTimeMs: 2000, predictedDowntimeMs: 30, totalTimeError: 0.2 },
    },
  ];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export class RecordedGatewayServer {
  readonly requests: RecordedRequest[] = [];
  readonly vms = new Map<string, FakeVm>();
  readonly operations = new Map<string, FakeOperation>();
  readonly hosts: any[] = [];
  /** Whether POST /v1/hosts/import exists (older gateways answer 404). */
  bulkImport = true;
  /** Status scripts for new VMs and operations, set by the test. */
  createScript: string[] = ['scheduled', 'provisioning', 'running'];
  failCreateWith: string | null = null;
  operationScript: Record<string, { status: string; error?: string }[]> = {};
  /** Drop the connection of the next N requests matching this (before answering): tests client retries. */
  dropNext: { method: string; path: string; count: number } | null = null;
  /** Answer 500 to every request (tests exit code 3). */
  broken = false;
  readonly migrations = new Map<string, FakeMigration>();
  /** The steps of new migrations (one per GET), set by the test. */
  migrationScript: Record<string, any>[] = defaultMigrationScript();
  private server?: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const u = new URL(req.url ?? '/', 'http://x');
        const text = Buffer.concat(chunks).toString('utf8');
        let body: any;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          return this.send(res, 400, { statusCode: 400, error: 'Bad Request', message: 'body is not valid JSON' });
        }
        this.requests.push({ method: req.method ?? '', path: u.pathname, query: u.searchParams, headers: req.headers, body });
        if (this.dropNext && this.dropNext.count > 0 && this.dropNext.method === req.method && this.dropNext.path === u.pathname) {
          this.dropNext.count--;
          req.socket.destroy();
          return;
        }
        if (this.broken) return this.send(res, 500, { statusCode: 500, error: 'Internal Server Error', message: 'database is on fire' });
        try {
          this.route(req.method ?? 'GET', u.pathname, u.searchParams, body, res);
        } catch (e) {
          this.send(res, 500, { statusCode: 500, error: 'Internal Server Error', message: String(e) });
        }
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server!.address() as { port: number }).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections?.();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** Requests other than GETs, as "METHOD path". */
  writes(): string[] {
    return this.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path}`);
  }

  private send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(body === undefined ? '' : JSON.stringify(body));
  }

  private notFound(res: ServerResponse, what: string) {
    this.send(res, 404, { statusCode: 404, error: 'Not Found', message: what });
  }

  private fieldError(res: ServerResponse, field: string, reason: string) {
    this.send(res, 400, { statusCode: 400, error: 'Bad Request', message: `${field}: ${reason}`, errors: [{ field, reason }] });
  }

  private view(vm: FakeVm) {
    const { script: _script, ...v } = vm;
    return v;
  }

  private opView(op: FakeOperation) {
    const { script: _script, ...v } = op;
    return v;
  }

  private route(method: string, path: string, q: URLSearchParams, body: any, res: ServerResponse): void {
    let m: RegExpExecArray | null;
    if (method === 'POST' && path === '/v1/vms') return this.createVm(body, res);
    if (method === 'GET' && path === '/v1/vms') {
      let items = [...this.vms.values()].filter((v) => (q.get('status') ? v.status === q.get('status') : v.status !== 'deleted'));
      const total = items.length;
      const offset = Number(q.get('offset') ?? 0);
      items = items.slice(offset, offset + Number(q.get('limit') ?? 50));
      return this.send(res, 200, { items: items.map((v) => this.view(v)), total });
    }
    if ((m = /^\/v1\/vms\/([^/]+)(\/actions|\/console)?$/.exec(path))) {
      const id = m[1];
      if (!UUID.test(id)) return this.fieldError(res, 'id', 'id must be a UUID');
      const vm = this.vms.get(id);
      if (!vm || vm.status === 'deleted') return this.notFound(res, `VM ${id} not found`);
      if (method === 'GET' && !m[2]) {
        const next = vm.script.shift();
        if (next) {
          vm.status = next;
          if (next === 'scheduled') vm.host = { id: randomUUID(), name: 'hv1', address: '10.254.7.11' };
          if (next === 'failed') vm.reason = this.failCreateWith ?? 'failed';
          if (next === 'deleted') {
            this.vms.delete(id);
            return this.notFound(res, `VM ${id} not found`);
          }
        }
        return this.send(res, 200, this.view(vm));
      }
      if (method === 'GET' && m[2] === '/console') return this.send(res, 200, { lines: ['[    0.000000] Linux version 6.1', 'MINICLOUD-GUEST BOOTED ' + vm.id].slice(-Number(q.get('lines') ?? 100)) });
      if (method === 'POST' && m[2] === '/actions') {
        const action = body?.action;
        if (!['start', 'stop', 'force-stop', 'reboot', 'suspend', 'resume'].includes(action)) return this.fieldError(res, 'action', 'action must be one of: start, stop, force-stop, reboot, suspend, resume');
        if (action === 'stop' && vm.status === 'stopped') return this.send(res, 409, { statusCode: 409, error: 'Conflict', message: `cannot stop VM ${vm.name}: it is stopped` });
        const op: FakeOperation = { id: randomUUID(), vmId: id, action, status: 'pending', script: [...(this.operationScript[action] ?? [{ status: 'running' }, { status: 'succeeded' }])] };
        this.operations.set(op.id, op);
        return this.send(res, 202, { operation: this.opView(op) }, { location: `/v1/operations/${op.id}` });
      }
      if (method === 'DELETE' && !m[2]) {
        vm.status = 'deleting';
        vm.script = ['deleting', 'deleted'];
        return this.send(res, 202, this.view(vm));
      }
    }
    if (method === 'POST' && (m = /^\/v1\/vms\/([^/]+)\/migrate$/.exec(path))) return this.migrate(m[1], body ?? {}, res);
    if (method === 'GET' && path === '/v1/migrations') {
      const items = [...this.migrations.values()].map((x) => x.view).filter((v) => (!q.get('vm') || v.vmId === q.get('vm')) && (!q.get('state') || v.state === q.get('state'))).reverse();
      return this.send(res, 200, { items: items.slice(0, Number(q.get('limit') ?? 50)), total: items.length });
    }
    if ((m = /^\/v1\/migrations\/([^/]+)(\/cancel|\/force-complete)?$/.exec(path))) {
      if (!UUID.test(m[1])) return this.fieldError(res, 'id', 'id must be a UUID');
      const mig = this.migrations.get(m[1]);
      if (!mig) return this.notFound(res, `migration ${m[1]} not found`);
      if (method === 'GET' && !m[2]) {
        const next = mig.script.shift();
        if (next) Object.assign(mig.view, next, { updatedAt: new Date().toISOString() });
        return this.send(res, 200, mig.view);
      }
      if (method === 'POST' && m[2]) {
        const action = m[2].slice(1);
        if (FINISHED.includes(mig.view.state)) return this.send(res, 409, { statusCode: 409, error: 'Conflict', message: `cannot ${action} migration ${mig.view.id}: it is already ${mig.view.state}`, state: mig.view.state });
        if (action === 'cancel') mig.script = [{ state: 'cancelled', error: 'cancelled by a user', vmHostId: mig.view.sourceHostId }];
        return this.send(res, 202, mig.view);
      }
    }
    if (method === 'GET' && (m = /^\/v1\/operations\/([^/]+)$/.exec(path))) {
      const op = this.operations.get(m[1]);
      if (!op) return this.notFound(res, `operation ${m[1]} not found`);
      const next = op.script.shift();
      if (next) Object.assign(op, next);
      return this.send(res, 200, this.opView(op));
    }
    if (method === 'POST' && path === '/v1/hosts/import' && this.bulkImport) {
      const registered: any[] = [];
      const failed: any[] = [];
      for (const h of body?.hosts ?? []) {
        const r = this.registerHost(h);
        if ('error' in r) failed.push({ address: h.address, error: r.error });
        else registered.push(r);
      }
      return this.send(res, 200, { registered, failed });
    }
    if (method === 'POST' && path === '/v1/hosts') {
      const r = this.registerHost(body ?? {});
      if ('error' in r) return this.send(res, 422, { statusCode: 422, error: 'Unprocessable Entity', message: r.error });
      return this.send(res, 201, r);
    }
    if (method === 'GET' && path === '/v1/hosts') return this.send(res, 200, { items: this.hosts, total: this.hosts.length });
    this.send(res, 404, { statusCode: 404, error: 'Not Found', message: `Cannot ${method} ${path}` });
  }

  private migrate(vmId: string, body: any, res: ServerResponse) {
    if (!UUID.test(vmId)) return this.fieldError(res, 'id', 'id must be a UUID');
    const vm = this.vms.get(vmId);
    if (!vm || vm.status === 'deleted') return this.notFound(res, `vm ${vmId} not found`);
    const known = ['targetHost', 'mode', 'storage', 'strategy', 'maxDowntimeMs', 'bandwidthMiBs'];
    const unknown = Object.keys(body).find((k) => !known.includes(k));
    if (unknown) return this.fieldError(res, unknown, `property ${unknown} should not exist`);
    const mode = body.mode ?? 'live';
    const needed = mode === 'live' ? 'running' : 'stopped';
    if (vm.status !== needed) return this.send(res, 409, { statusCode: 409, error: 'Conflict', message: `cannot ${mode}-migrate a VM that is ${vm.status} (a ${mode} migration needs a ${needed} VM)`, state: vm.status });
    let targetHostId: string | null = null;
    if (body.targetHost !== undefined) {
      const host = this.hosts.find((h) => h.id === body.targetHost || h.name === body.targetHost);
      if (!host) return this.fieldError(res, 'targetHost', `unknown host "${body.targetHost}"`);
      targetHostId = host.id;
    }
    const now = new Date().toISOString();
    const view = {
      id: randomUUID(), vmId, state: 'requested', origin: 'manual', mode, storage: body.storage ?? 'copy', requestedStrategy: body.strategy ?? 'auto',
      strategy: null, strategyReason: null, sourceHostId: vm.host?.id ?? randomUUID(), targetHostId, maxDowntimeMs: body.maxDowntimeMs ?? null,
      bandwidthMiBs: body.bandwidthMiBs ?? null, reason: 'requested by a client', stage: null, progress: null, predictions: null, dirtyRateMiBs: null,
      result: null, stages: [], vmHostId: null, error: null, requestedAt: now, updatedAt: now,
    };
    this.migrations.set(view.id, { view, script: this.migrationScript.map((x) => ({ ...x })) });
    this.send(res, 202, view, { location: `/v1/migrations/${view.id}` });
  }

  private registerHost(h: { address?: string; sshPort?: number; sshUser?: string }): any {
    if (!h.address || h.address.startsWith('10.99.')) return { error: `cannot reach ${h.address}:${h.sshPort ?? 22} over SSH: connect ECONNREFUSED` };
    const host = { id: randomUUID(), name: `hv-${h.address.replace(/\./g, '-')}`, address: h.address, sshPort: h.sshPort ?? 22, sshUser: h.sshUser ?? 'root', state: 'up', stateReason: '', facts: { cpus: 4, cpuModel: 'qemu64', memoryMiB: 8192, diskGiB: 50, arch: 'x86_64', hypervisorVersion: '7.2.0', libvirtVersion: '9.0.0' }, registeredAt: new Date().toISOString() };
    this.hosts.push(host);
    return host;
  }

  private createVm(body: any, res: ServerResponse) {
    const errors: { field: string; reason: string }[] = [];
    if (typeof body?.name !== 'string' || !NAME.test(body.name)) errors.push({ field: 'name', reason: 'name must be 1-63 characters: lower-case letters, digits and "-"' });
    for (const f of ['vcpus', 'memoryMiB', 'diskGiB']) if (!Number.isInteger(body?.[f]) || body[f] < 1) errors.push({ field: f, reason: `${f} must not be less than 1` });
    if (errors.length) return this.send(res, 400, { statusCode: 400, error: 'Bad Request', message: errors.map((e) => `${e.field}: ${e.reason}`).join('; '), errors });
    if (body.image !== 'minicloud-lab') return this.fieldError(res, 'image', `unknown image "${body.image}"`);
    const now = new Date().toISOString();
    const vm: FakeVm = { id: randomUUID(), name: body.name, status: 'requested', host: null, vcpus: body.vcpus, memoryMiB: body.memoryMiB, diskGiB: body.diskGiB, image: { id: randomUUID(), name: body.image }, reason: null, tags: body.tags ?? {}, createdAt: now, updatedAt: now, script: [...this.createScript] };
    this.vms.set(vm.id, vm);
    this.send(res, 202, this.view(vm), { location: `/v1/vms/${vm.id}` });
  }
}

export function recordedGatewayServer(): Promise<RecordedGatewayServer> {
  return new RecordedGatewayServer().start();
}
