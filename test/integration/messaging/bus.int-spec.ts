import { randomUUID } from 'crypto';
import { DataSource } from 'typeorm';
import { trace } from '@opentelemetry/api';
import { connect, consumerOpts, JSONCodec } from 'nats';
import { Bus, PermanentError, RpcError } from '@minicloud/messaging';
import { makeEvent, Rpc, Subjects, VmConsoleRequest, VmRequestedEvent } from '@minicloud/contracts';
import { createInboxTable, firstDelivery } from '@minicloud/database';
import { startNats, TestNats } from '../../support/nats-server';
import { createTestDatabase, TestDatabase } from '../../support/database';
import { installInMemoryTracing } from '../../support/otel';

const spans = installInMemoryTracing();

function vmRequested(name = 'web-1') {
  return makeEvent(Subjects.VmRequested, {
    vmId: randomUUID(),
    name,
    resources: { vcpus: 1, memoryMiB: 256, diskGiB: 1 },
    image: { id: randomUUID(), name: 'minicloud-lab', checksum: 'b'.repeat(64) },
  });
}

/** Resolves when `n` values have been pushed, or rejects after `ms`. */
function collector<T>() {
  const items: T[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  return {
    items,
    push(v: T) {
      items.push(v);
      for (const w of [...waiters]) if (items.length >= w.n) w.resolve();
    },
    async waitFor(n: number, ms = 15_000): Promise<T[]> {
      if (items.length >= n) return items;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`expected ${n} items, got ${items.length} after ${ms} ms`)), ms);
        waiters.push({ n, resolve: () => (clearTimeout(t), resolve()) });
      });
      return items;
    },
  };
}

/** Reads dead letters straight from the stream, as an outside subscriber would. */
async function deadLetters(url: string, subject: string, expected: number, timeoutMs = 15_000) {
  const nc = await connect({ servers: url });
  const js = nc.jetstream();
  const out: { reason: string; payload: string; subject: string }[] = [];
  const opts = consumerOpts();
  opts.orderedConsumer();
  const sub = await js.subscribe(subject, opts);
  const jc = JSONCodec<{ reason: string; payload: string; subject: string }>();
  const until = Date.now() + timeoutMs;
  const it = sub[Symbol.asyncIterator]();
  while (out.length < expected && Date.now() < until) {
    const next = await Promise.race([it.next(), new Promise<null>((r) => setTimeout(() => r(null), until - Date.now()))]);
    if (!next || next.done) break;
    out.push(jc.decode(next.value.data));
  }
  sub.unsubscribe();
  await nc.close();
  return out;
}

describe('Bus on a real NATS JetStream', () => {
  let nats: TestNats;
  let db: TestDatabase;
  const buses: Bus[] = [];
  const open = async (name: string) => {
    const b = await Bus.connect({ name, servers: nats.url, log: () => undefined });
    buses.push(b);
    return b;
  };

  beforeAll(async () => {
    nats = await startNats();
    db = await createTestDatabase('mc_it_bus');
  });
  afterAll(async () => {
    for (const b of buses) await b.close(1000).catch(() => undefined);
    await nats.stop();
    await db.drop();
  }, 30_000);

  it('delivers a message published while no consumer ran, once one starts', async () => {
    const pub = await open('publisher');
    const sent = await pub.publish(Subjects.VmRequested, vmRequested('late-1'));
    const got = collector<VmRequestedEvent>();
    const sub = await open('consumer');
    await sub.consume(Subjects.VmRequested, { durable: 'it-late' }, async (e) => got.push(e));
    const [e] = await got.waitFor(1);
    expect(e.vmId).toBe(sent.vmId);
    expect(e.name).toBe('late-1');
  });

  it('redelivers to another replica when the consumer crashes before acking', async () => {
    const pub = await open('publisher2');
    const crashing = await open('replica-a');
    let started!: () => void;
    const handlerStarted = new Promise<void>((r) => (started = r));
    await crashing.consume(Subjects.VmRequested, { durable: 'it-crash', ackWaitMs: 2000 }, async (e) => {
      if (e.name !== 'crash-1') return; // earlier tests' messages
      started();
      await new Promise(() => undefined); // hangs: the process "dies" below without acking
    });
    const sent = await pub.publish(Subjects.VmRequested, vmRequested('crash-1'));
    await handlerStarted;
    await crashing.nc.close(); // the replica is gone, its message unacked

    const got = collector<{ e: VmRequestedEvent; delivery: number }>();
    const survivor = await open('replica-b');
    await survivor.consume(Subjects.VmRequested, { durable: 'it-crash', ackWaitMs: 2000 }, async (e, ctx) => {
      if (e.name === 'crash-1') got.push({ e, delivery: ctx.deliveryCount });
    });
    const items = await got.waitFor(1, 20_000);
    const mine = items.filter((i) => i.e.vmId === sent.vmId);
    expect(mine).toHaveLength(1);
    expect(mine[0].delivery).toBeGreaterThanOrEqual(2);
  });

  it('does not apply a redelivered message twice (inbox in the same transaction)', async () => {
    const ds = new DataSource({ type: 'postgres', url: db.url });
    await ds.initialize();
    await ds.query('CREATE SCHEMA IF NOT EXISTS svc');
    const qr = ds.createQueryRunner();
    await createInboxTable(qr, 'svc');
    await qr.release();
    await ds.query('CREATE TABLE svc.vms (id uuid PRIMARY KEY, name text)');

    const bus = await open('idempotent');
    const calls = collector<number>();
    let first = true;
    await bus.consume(Subjects.VmRequested, { durable: 'it-idem', retryDelayMs: 100 }, async (e, ctx) => {
      if (e.name !== 'idem-1') return; // earlier tests' messages
      await ds.transaction(async (m) => {
        if (!(await firstDelivery(m, 'svc', 'it-idem', e.eventId))) return;
        await m.query('INSERT INTO svc.vms (id, name) VALUES ($1, $2)', [e.vmId, e.name]);
      });
      calls.push(ctx.deliveryCount);
      if (first) {
        first = false;
        throw new Error('crash after commit, before ack');
      }
    });
    const sent = await bus.publish(Subjects.VmRequested, vmRequested('idem-1'));
    await calls.waitFor(2);
    const rows = await ds.query('SELECT name FROM svc.vms WHERE id = $1', [sent.vmId]);
    expect(rows).toEqual([{ name: 'idem-1' }]);
    expect(calls.items).toEqual([1, 2]);
    await ds.destroy();
  });

  it('dead-letters malformed and invalid messages with the reason, and keeps consuming', async () => {
    const bus = await open('dlq');
    const good = collector<string>();
    await bus.consume(Subjects.VmRequested, { durable: 'it-dlq' }, async (e) => {
      if (e.name === 'after-bad') good.push(e.name);
    });
    await bus.publishRaw(Subjects.VmRequested, '{not json');
    const invalid = { ...vmRequested('x'), name: 'bad; rm -rf /', resources: { vcpus: -1, memoryMiB: 256, diskGiB: 1 } };
    await bus.publishRaw(Subjects.VmRequested, JSON.stringify(invalid));
    await bus.publish(Subjects.VmRequested, vmRequested('after-bad'));
    await good.waitFor(1);
    expect(good.items).toEqual(['after-bad']);

    const dead = await deadLetters(nats.url, 'deadletter.it-dlq.vm.requested', 2);
    expect(dead).toHaveLength(2);
    expect(dead[0].reason).toMatch(/not valid JSON/);
    expect(dead[0].payload).toBe('{not json');
    expect(dead[1].reason).toMatch(/name: name must be/);
    expect(dead[1].reason).toMatch(/resources\.vcpus/);
  });

  it('dead-letters a message that keeps failing past the delivery limit, and a permanent failure at once', async () => {
    const bus = await open('poison');
    let attempts = 0;
    await bus.consume(Subjects.VmRequested, { durable: 'it-poison', maxDeliver: 3, retryDelayMs: 50 }, async (e) => {
      // The durable starts from the stream's beginning: earlier tests' messages pass through untouched.
      if (e.name === 'permanent') throw new PermanentError('image checksum mismatch');
      if (e.name !== 'poison-1') return;
      attempts++;
      throw new Error('host unreachable');
    });
    await bus.publish(Subjects.VmRequested, vmRequested('poison-1'));
    await bus.publish(Subjects.VmRequested, vmRequested('permanent'));
    // Earlier tests' malformed messages are dead-lettered by this durable too: keep ours.
    const dead = (await deadLetters(nats.url, 'deadletter.it-poison.vm.requested', 4, 20_000)).filter((d) => /poison-1|permanent/.test(d.payload));
    const reasons = dead.map((d) => d.reason).sort();
    expect(reasons[0]).toMatch(/failed 3 deliveries \(limit 3\); last error: host unreachable/);
    expect(reasons[1]).toBe('image checksum mismatch');
    expect(attempts).toBe(3);
  });

  it('answers request/reply through a queue group, with 400 for a bad request and 503 when nobody serves', async () => {
    const server = await open('rpc-server');
    server.serve(Rpc.VmConsole, VmConsoleRequest, 'provisioner', async (req) => ({ vmId: req.vmId, hostId: 'h', lines: ['hello'] }));
    const client = await open('rpc-client');
    const vmId = randomUUID();
    await expect(client.request(Rpc.VmConsole, { vmId, lines: 5 })).resolves.toEqual({ vmId, hostId: 'h', lines: ['hello'] });
    await expect(client.request(Rpc.VmConsole, { vmId: 'nope' })).rejects.toMatchObject({ status: 400, message: expect.stringMatching(/vmId must be a UUID/) });
    await expect(client.request(Rpc.HostRegister, { address: '10.0.0.1' }, 2000)).rejects.toBeInstanceOf(RpcError);
    await expect(client.request(Rpc.HostRegister, { address: '10.0.0.1' }, 2000)).rejects.toMatchObject({ status: 503 });
  });

  it('carries the trace context from publisher to consumer', async () => {
    const bus = await open('traced');
    const seen = collector<string | undefined>();
    await bus.consume(Subjects.VmRequested, { durable: 'it-trace' }, async (e) => {
      if (e.name === 'traced-1') seen.push(trace.getActiveSpan()?.spanContext().traceId);
    });
    let traceId = '';
    await trace.getTracer('test').startActiveSpan('client request', async (span) => {
      traceId = span.spanContext().traceId;
      await bus.publish(Subjects.VmRequested, vmRequested('traced-1'));
      span.end();
    });
    const [consumerTrace] = await seen.waitFor(1);
    expect(consumerTrace).toBe(traceId);
    const names = spans.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId).map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['client request', 'vm.requested publish', 'vm.requested process']));
  });
});
