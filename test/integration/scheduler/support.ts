/**
 * The test bed shared by the scheduler integration tests: a private nats-server, a throwaway database on the
 * real Postgres, a pg client on it and a Bus client playing the other services; event collection per subject,
 * host registration, VM request builders, the allocation-vs-claims check and the teardown. What a test file
 * does with the scheduler itself (in-process replicas, separate processes) stays in the file.
 */
import { randomUUID } from 'crypto';
import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Client } from 'pg';
import { Subscription } from 'nats';
import { Bus } from '@minicloud/messaging';
import { EventBody, EventOf, makeEvent, Subject, Subjects } from '@minicloud/contracts';
import { startNats, TestNats } from '../../support/nats-server';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { until } from '../../support/wait';

export type Probe<T> = () => T | undefined | null | false | Promise<T | undefined | null | false>;

/** `until` of test/support/wait with a file's own default timeout and poll interval. */
export const pollUntil =
  (defaultMs: number, everyMs: number) =>
  <T>(what: string, probe: Probe<T>, ms = defaultMs): Promise<T> =>
    until(what, probe, ms, everyMs);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The image every test VM boots (one per test file). */
export const image = { id: randomUUID(), name: 'debian-12', checksum: 'c'.repeat(64) };

export type VmRequestOverrides = Partial<EventOf<typeof Subjects.VmRequested>>;

/** A vm.requested event: a fresh VM id and name, 1 vCPU / 2 GiB / 10 GiB of `image`, then `over`. */
export function vmRequest(over: VmRequestOverrides = {}): EventOf<typeof Subjects.VmRequested> {
  return makeEvent(Subjects.VmRequested, {
    vmId: randomUUID(),
    name: `vm-${Math.random().toString(36).slice(2, 8)}`,
    resources: { vcpus: 1, memoryMiB: 2048, diskGiB: 10 },
    image,
    ...over,
  });
}

/** The body of host.registered for an `up` x86_64 host with these facts (`extra` overrides, e.g. state, address). */
export function hostRegistration(
  hostId: string,
  name: string,
  cpus: number,
  memoryMiB: number,
  diskGiB: number,
  extra: Partial<EventBody<typeof Subjects.HostRegistered>> = {},
): EventBody<typeof Subjects.HostRegistered> {
  return {
    hostId,
    name,
    address: '10.254.7.10',
    sshPort: 22,
    sshUser: 'minicloud',
    state: 'up',
    facts: { cpus, cpuModel: 'qemu64', memoryMiB, diskGiB, arch: 'x86_64', hypervisorVersion: '7.2.0', libvirtVersion: '9.0.0' },
    ...extra,
  };
}

/** Allocation columns of scheduler.hosts that can be compared with what the claims (and holds) add up to. */
export type AllocationField = 'vcpus' | 'mem' | 'disk' | 'preemptibleMem' | 'vms';
export type CapacityField = 'vcpus' | 'mem' | 'disk';

export interface AllocationCheck {
  /** Also count the open migration holds, on their target host (not a preempted VM's: its claim is there already; default: active claims only). */
  holds?: boolean;
  /** Which allocations must equal the sum of the claims (+ holds); default vcpus, mem, disk. */
  equal?: AllocationField[];
  /** Which allocations must stay within total × allocation ratio; default vcpus, mem, disk. */
  withinCapacity?: CapacityField[];
}

const ALLOCATED: Record<AllocationField, string> = {
  vcpus: 'allocated_vcpus',
  mem: 'allocated_memory_mib',
  disk: 'allocated_disk_gib',
  preemptibleMem: 'preemptible_memory_mib',
  vms: 'active_vms',
};
const WANTED: Record<AllocationField, string> = { vcpus: 'want_vcpus', mem: 'want_mem', disk: 'want_disk', preemptibleMem: 'want_preemptible_mem', vms: 'want_vms' };
const CAPACITY: Record<CapacityField, string> = { vcpus: 'cap_vcpus', mem: 'cap_mem', disk: 'cap_disk' };

export type SchedulerTestBed = Awaited<ReturnType<typeof startSchedulerTestBed>>;

/** Starts the bed: NATS, a database named `${database}_<random>`, a pg client and a Bus client named `busName`. */
export async function startSchedulerTestBed(o: { database: string; busName: string }) {
  let nats: TestNats | undefined;
  let db: TestDatabase | undefined;
  let pg: Client | undefined;
  let client: Bus | undefined;
  const subs: Subscription[] = [];
  const apps: INestApplication[] = [];
  const savedEnv = new Map<string, string | undefined>();

  const stop = async () => {
    for (const s of subs) s.unsubscribe();
    await Promise.allSettled(apps.map((a) => a.close()));
    await client?.close();
    await pg?.end();
    await db?.drop();
    await nats?.stop();
    for (const [k, v] of savedEnv) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };

  try {
    nats = await startNats();
    db = await createTestDatabase(o.database);
    pg = new Client({ connectionString: db.url });
    await pg.connect();
    client = await Bus.connect({ name: o.busName, servers: nats.url, log: () => undefined });
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
  const bed = { nats, db, pg, client };
  const schedulerEnv = { NATS_URL: nats.url, DATABASE_URL: db.url, OTEL_SDK_DISABLED: 'true' };

  return {
    ...bed,
    /** What a scheduler instance needs in its environment to use this bed's NATS and database. */
    schedulerEnv,
    /** Unsubscribes, closes the in-process apps, the clients, drops the database, stops NATS, restores the environment. */
    stop,

    /** Every message published on `subject` from now on, parsed, in arrival order. */
    collect<S extends Subject>(subject: S): EventOf<S>[] {
      const into: EventOf<S>[] = [];
      const sub = bed.client.nc.subscribe(subject);
      subs.push(sub);
      void (async () => {
        for await (const m of sub) into.push(JSON.parse(m.string()) as EventOf<S>);
      })();
      return into;
    },

    /** Publishes host.registered (see `hostRegistration`). */
    registerHost: (...args: Parameters<typeof hostRegistration>) => bed.client.publish(Subjects.HostRegistered, hostRegistration(...args)),

    /** The scheduler.hosts row of a host (undefined while unknown). */
    hostRow: async (id: string): Promise<any> => (await bed.pg.query(`SELECT * FROM scheduler.hosts WHERE id = $1`, [id])).rows[0],

    /** Every scheduler.claims row of a VM. */
    claimsOf: async (vmId: string): Promise<any[]> => (await bed.pg.query(`SELECT * FROM scheduler.claims WHERE vm_id = $1`, [vmId])).rows,

    /** The VM's scheduler.claims row (there is one per VM). */
    claimOf: async (vmId: string): Promise<any> => (await bed.pg.query(`SELECT * FROM scheduler.claims WHERE vm_id = $1`, [vmId])).rows[0],

    /** The scheduler.migration_holds row of a migration (undefined when none). */
    holdOf: async (migrationId: string): Promise<any> => (await bed.pg.query(`SELECT * FROM scheduler.migration_holds WHERE migration_id = $1`, [migrationId])).rows[0],

    /**
     * A placer for the file: publishes vm.requested (`vmRequest(over)`) and waits (with `wait`) for its vm.scheduled
     * among `scheduled` (what `collect(Subjects.VmScheduled)` returned).
     */
    placer(scheduled: EventOf<typeof Subjects.VmScheduled>[], wait: ReturnType<typeof pollUntil>) {
      return async (over: VmRequestOverrides = {}): Promise<EventOf<typeof Subjects.VmScheduled>> => {
        const e = vmRequest(over);
        await bed.client.publish(Subjects.VmRequested, e);
        return wait(`vm.scheduled for ${e.vmId}`, () => scheduled.find((x) => x.vmId === e.vmId));
      };
    },

    /** Plays the migrator: migration `p` ended with the VM on the target (`extra`: more figures). */
    migrationCompleted: (p: EventOf<typeof Subjects.MigrationPlanned>, extra: Partial<EventBody<typeof Subjects.MigrationCompleted>> = {}) =>
      bed.client.publish(Subjects.MigrationCompleted, { migrationId: p.migrationId, vmId: p.vmId, sourceHostId: p.sourceHostId, targetHostId: p.targetHostId, strategy: 'precopy', totalTimeMs: 1500, ...extra }),

    /**
     * Starts one scheduler app in this process (closed by `stop`) with `schedulerEnv`, no waiting in the queue and
     * the default policy; `env` adds to that (undefined unsets). `stop` restores the environment.
     */
    async startApp(env: Record<string, string | undefined> = {}): Promise<INestApplication> {
      for (const [k, v] of Object.entries({ ...schedulerEnv, SCHEDULER_POLICY: undefined, SCHEDULER_QUEUE_MAX_WAIT_S: '0', ...env })) {
        if (!savedEnv.has(k)) savedEnv.set(k, process.env[k]);
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      // Loaded here, after the environment is set, and only by the files that run the scheduler in-process.
      const { AppModule } = await import('../../../apps/scheduler/src/app.module');
      const app = await NestFactory.create(AppModule, { logger: process.env.SCHEDULER_TEST_LOGS ? ['error', 'warn', 'log'] : ['error'], abortOnError: false });
      apps.push(app);
      await app.init();
      return app;
    },

    /**
     * Per host: the allocation equals the sum of its active claims (+ open migration holds) and stays within
     * total × ratio, as strictly as `check` says. Returns the rows (allocated_*, cap_*, want_*).
     */
    async assertAllocationsMatchClaims(check: AllocationCheck = {}): Promise<any[]> {
      const { holds = false, equal = ['vcpus', 'mem', 'disk'], withinCapacity = ['vcpus', 'mem', 'disk'] } = check;
      const r = await bed.pg.query(`
        WITH used AS (
          SELECT host_id, vcpus, memory_mib, disk_gib, preemptible FROM scheduler.claims WHERE released_at IS NULL AND host_id IS NOT NULL
          ${holds ? 'UNION ALL SELECT target_host_id, vcpus, memory_mib, disk_gib, preemptible FROM scheduler.migration_holds WHERE settled_at IS NULL AND NOT claim_moved' : ''}
        )
        SELECT h.id, h.allocated_vcpus, h.allocated_memory_mib, h.allocated_disk_gib, h.preemptible_memory_mib, h.active_vms,
          floor(h.total_vcpus * h.cpu_allocation_ratio) AS cap_vcpus,
          floor(h.total_memory_mib * h.ram_allocation_ratio) AS cap_mem,
          floor(h.total_disk_gib * h.disk_allocation_ratio) AS cap_disk,
          coalesce(sum(u.vcpus), 0)::int AS want_vcpus, coalesce(sum(u.memory_mib), 0)::int AS want_mem,
          coalesce(sum(u.disk_gib), 0)::int AS want_disk,
          coalesce(sum(u.memory_mib) FILTER (WHERE u.preemptible), 0)::int AS want_preemptible_mem,
          count(u.host_id)::int AS want_vms
        FROM scheduler.hosts h LEFT JOIN used u ON u.host_id = h.id
        GROUP BY h.id`);
      for (const h of r.rows) {
        const pick = (cols: Record<AllocationField, string>) => Object.fromEntries([['id', h.id], ...equal.map((f) => [f, h[cols[f]]])]);
        expect(pick(ALLOCATED)).toEqual(pick(WANTED));
        for (const f of withinCapacity) expect(h[ALLOCATED[f]]).toBeLessThanOrEqual(Number(h[CAPACITY[f]]));
      }
      return r.rows;
    },
  };
}
