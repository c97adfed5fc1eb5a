import { ChildProcess, spawn } from 'child_process';
import { createWriteStream, existsSync, mkdirSync } from 'fs';
import { join } from 'path';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { freePort, startNats, TestNats } from '../../support/nats-server';
import { OtlpReceiver } from './otlp-receiver';
import { requestJson } from '../../support/http';
import { Lab, readLab } from './lab';

export const SERVICES = ['gateway', 'scheduler', 'provisioner', 'metrics-collector', 'migrator'] as const;
export type ServiceName = (typeof SERVICES)[number];

const ROOT = join(__dirname, '..', '..', '..');
const LOG_DIR = process.env.MINICLOUD_TEST_LOG_DIR ?? join(ROOT, '.minicloud', 'test-logs');

export interface ApiResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/**
 * The whole platform for an end-to-end test: the five services as separate processes (the built dist/), a private
 * nats-server with JetStream, a throwaway Postgres database, an OTLP receiver for their traces, and the lab's real
 * hypervisor hosts.
 */
export class Platform {
  readonly procs = new Map<ServiceName, ChildProcess>();
  readonly ports = new Map<ServiceName, number>();
  nats!: TestNats;
  db!: TestDatabase;
  otlp = new OtlpReceiver();
  lab!: Lab;
  private label = '';

  /** Settings a test adds for every service (e.g. PLANNER_INTERVAL_S). */
  private extraEnv: NodeJS.ProcessEnv = {};

  static async start(label: string, services: readonly ServiceName[] = SERVICES, extraEnv: NodeJS.ProcessEnv = {}): Promise<Platform> {
    const p = new Platform();
    p.label = label;
    p.extraEnv = extraEnv;
    p.lab = readLab();
    const main = join(ROOT, 'dist', 'apps', 'gateway', 'src', 'main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run "npm run build" first (test/run-all.sh does)`);
    p.nats = await startNats();
    p.db = await createTestDatabase('mc_e2e');
    await p.otlp.start();
    for (const s of SERVICES) p.ports.set(s, await freePort());
    try {
      await Promise.all(services.map((s) => p.startService(s)));
    } catch (err) {
      await p.stop();
      throw err;
    }
    return p;
  }

  env(service: ServiceName): NodeJS.ProcessEnv {
    return {
      ...process.env,
      NODE_ENV: 'test',
      PORT: String(this.ports.get(service)),
      HOST: '127.0.0.1',
      NATS_URL: this.nats.url,
      DATABASE_URL: this.db.url,
      MINICLOUD_SSH_KEY: this.lab.privateKeyPath,
      MINICLOUD_SSH_KNOWN_HOSTS: this.lab.knownHostsPath,
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${this.otlp.port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_TRACES_EXPORTER: 'otlp',
      OTEL_METRICS_EXPORTER: 'none',
      OTEL_LOGS_EXPORTER: 'none',
      OTEL_BSP_SCHEDULE_DELAY: '200',
      MINICLOUD_SHUTDOWN_GRACE_MS: '3000',
      // The lab's hosts are namespaces on this one machine: each reports the whole machine's CPU, which the test
      // run itself keeps busy. The load caps are tested in unit and integration tests; here they would only make
      // placement depend on how busy the CI machine is.
      SCHEDULER_MAX_CPU_PERCENT: '100',
      SCHEDULER_MAX_MEMORY_PERCENT: '100',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'info',
      ...this.extraEnv,
    };
  }

  async startService(service: ServiceName): Promise<void> {
    mkdirSync(LOG_DIR, { recursive: true });
    const log = createWriteStream(join(LOG_DIR, `${this.label}-${service}.log`), { flags: 'a' });
    const proc = spawn(process.execPath, ['-r', join(ROOT, 'tools', 'register-paths.js'), join(ROOT, 'dist', 'apps', service, 'src', 'main.js')], {
      cwd: ROOT,
      env: this.env(service),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.pipe(log);
    proc.stderr!.pipe(log);
    this.procs.set(service, proc);
    await this.waitReady(service, proc);
  }

  private async waitReady(service: ServiceName, proc: ChildProcess, timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    const url = `http://127.0.0.1:${this.ports.get(service)}/health/ready`;
    while (Date.now() < until) {
      if (proc.exitCode !== null) throw new Error(`${service} exited with ${proc.exitCode} (see ${LOG_DIR}/${this.label}-${service}.log)`);
      try {
        const r = await fetch(url);
        if (r.status === 200) return;
      } catch {
        /* not listening yet */
      }
      await sleep(250);
    }
    throw new Error(`${service} not ready after ${timeoutMs} ms (see ${LOG_DIR}/${this.label}-${service}.log)`);
  }

  /** Stops one service like an operator or a crash would (SIGTERM, then SIGKILL). */
  async stopService(service: ServiceName, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const proc = this.procs.get(service);
    if (!proc || proc.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      proc.once('exit', () => {
        clearTimeout(t);
        resolve();
      });
      proc.kill(signal);
    });
    this.procs.delete(service);
  }

  get gatewayUrl(): string {
    return `http://127.0.0.1:${this.ports.get('gateway')}`;
  }

  api<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiResponse<T>> {
    return requestJson(this.gatewayUrl + path, typeof body === 'string' ? { method, raw: body, headers } : { method, body, headers });
  }

  /** Registers every lab host and the lab image through the REST API, as a user would. */
  async registerLab(): Promise<{ hosts: any[]; image: any }> {
    const hosts = [];
    for (const h of this.lab.hosts) {
      const r = await this.api('POST', '/v1/hosts', { address: h.address, sshPort: h.port, sshUser: h.user });
      if (r.status !== 201) throw new Error(`registering ${h.address}: ${r.status} ${JSON.stringify(r.body)}`);
      hosts.push(r.body);
    }
    const img = await this.api('POST', '/v1/images', { name: 'minicloud-lab', path: join(this.lab.imageDir, 'minicloud-lab.qcow2') });
    if (img.status !== 201) throw new Error(`registering the lab image: ${img.status} ${JSON.stringify(img.body)}`);
    return { hosts, image: img.body };
  }

  /** Polls GET /v1/vms/:id until `until` says yes; returns the last view. */
  async waitForVm(id: string, until: (vm: any) => boolean, timeoutMs = 120_000): Promise<any> {
    const end = Date.now() + timeoutMs;
    let last: any;
    while (Date.now() < end) {
      const r = await this.api('GET', `/v1/vms/${id}`);
      last = r.body;
      if (r.status === 200 && until(last)) return last;
      await sleep(500);
    }
    throw new Error(`VM ${id} did not reach the expected state in ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
  }

  async stop(): Promise<void> {
    for (const s of [...this.procs.keys()]) await this.stopService(s).catch(() => undefined);
    await this.otlp.stop().catch(() => undefined);
    await this.nats?.stop().catch(() => undefined);
    await this.db?.drop().catch(() => undefined);
  }
}

export function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}
