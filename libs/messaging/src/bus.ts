import {
  AckPolicy,
  connect,
  ConsumerMessages,
  DeliverPolicy,
  headers as natsHeaders,
  JetStreamClient,
  JetStreamManager,
  JsMsg,
  Msg,
  MsgHdrs,
  nanos,
  NatsConnection,
  RetentionPolicy,
  StorageType,
  Subscription,
} from 'nats';
import { SpanKind, context } from '@opentelemetry/api';
import {
  ContractViolation,
  EventBody,
  EventOf,
  RpcReply,
  Streams,
  Subject,
  deadLetterSubject,
  makeEvent,
  validateAs,
  validateEvent,
  RpcSubject,
} from '@minicloud/contracts';
import { extractTraceContext, injectTraceHeaders, withSpan } from '@minicloud/telemetry';

export interface BusOptions {
  servers?: string;
  /** Shown in NATS monitoring; usually the service name. */
  name: string;
  log?: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
}

export interface ConsumeOptions {
  /** Durable consumer name, shared by all replicas of a service: replicas split the work. */
  durable: string;
  /** Deliveries before a message is dead-lettered. */
  maxDeliver?: number;
  ackWaitMs?: number;
  /** Handlers running at once in this process. */
  concurrency?: number;
  /** Delay before a failed message is delivered again (grows with each delivery). */
  retryDelayMs?: number;
}

export interface MessageContext {
  subject: string;
  deliveryCount: number;
  streamSequence: number;
  /** Tell JetStream the handler is still working (extends the ack deadline). */
  working(): void;
}

/** Thrown by a handler when retrying cannot help: the message goes straight to the dead-letter subject. */
export class PermanentError extends Error {}

export class RpcError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const DEFAULT_MAX_DELIVER = 5;
const DEFAULT_ACK_WAIT_MS = 30_000;

/**
 * The one way services talk: JetStream for events that must not be lost (durable pull consumers shared by
 * replicas, explicit ack after the handler's commit, dead letters with the reason), core NATS request/reply
 * for questions. Every message carries the W3C trace context in its headers.
 */
export class Bus {
  private constructor(
    readonly nc: NatsConnection,
    readonly js: JetStreamClient,
    readonly jsm: JetStreamManager,
    private readonly opts: BusOptions,
  ) {}

  private readonly loops: ConsumerMessages[] = [];
  private readonly subs: Subscription[] = [];
  private readonly inflight = new Set<Promise<unknown>>();

  static async connect(opts: BusOptions): Promise<Bus> {
    const nc = await connect({
      servers: opts.servers ?? process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      // nats.js otherwise captures a stack trace (new Error()) for every request and JetStream publish, only to
      // decorate a timeout error with where the call was made: measurable CPU at a thousand publishes a second.
      noAsyncTraces: true,
    });
    const jsm = await nc.jetstreamManager();
    const bus = new Bus(nc, nc.jetstream(), jsm, opts);
    await bus.ensureStreams();
    return bus;
  }

  private log(level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) {
    (this.opts.log ?? defaultLog)(level, msg, extra);
  }

  /** Creates the streams of the contracts (or updates their subjects); safe to call from every service. */
  async ensureStreams(): Promise<void> {
    for (const s of Streams) {
      const cfg = {
        name: s.name,
        subjects: s.subjects,
        max_age: nanos(s.maxAgeSeconds * 1000),
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        description: s.description,
        duplicate_window: nanos(120_000),
      };
      try {
        const info = await this.jsm.streams.info(s.name);
        const have = [...(info.config.subjects ?? [])].sort().join(',');
        if (have !== [...s.subjects].sort().join(',')) await this.jsm.streams.update(s.name, cfg);
      } catch (err) {
        if (!/stream not found/i.test(String((err as Error).message))) throw err;
        try {
          await this.jsm.streams.add(cfg);
        } catch (e) {
          // Another service created it at the same moment.
          if (!/already in use|exists/i.test(String((e as Error).message))) throw e;
        }
      }
    }
  }

  /**
   * Publishes an event to JetStream and waits for the stream's ack. The event id is the JetStream message id,
   * so a publisher that retries after a crash does not store the event twice.
   */
  async publish<S extends Subject>(subject: S, body: EventBody<S> | EventOf<S>): Promise<EventOf<S>> {
    const event = ('eventId' in (body as object) ? body : makeEvent(subject, body as EventBody<S>)) as EventOf<S>;
    // Never put an invalid message on the bus: the publisher's bug must fail here, not in every consumer.
    // Validated as consumers will see it: the JSON that goes on the wire, parsed back.
    const data = JSON.stringify(event);
    validateEvent(subject, JSON.parse(data));
    await withSpan(`${subject} publish`, { kind: SpanKind.PRODUCER, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject, 'messaging.message.id': event.eventId } }, async () => {
      const h = natsHeaders();
      injectTraceHeaders(h);
      await this.js.publish(subject, data, { msgID: event.eventId, headers: h });
    });
    return event;
  }

  /** Publishes raw bytes (tests use it to send malformed messages; bridges use it to relay). */
  async publishRaw(subject: string, data: string | Uint8Array, msgID?: string): Promise<void> {
    const h = natsHeaders();
    injectTraceHeaders(h);
    await this.js.publish(subject, typeof data === 'string' ? data : data, { headers: h, msgID });
  }

  private streamFor(subject: string): string {
    const s = Streams.find((st) => st.subjects.includes(subject) || st.subjects.some((p) => p.endsWith('>') && subject.startsWith(p.slice(0, -1))));
    if (!s) throw new Error(`no stream holds subject ${subject}`);
    return s.name;
  }

  /**
   * Consumes a subject through a durable pull consumer. All replicas using the same `durable` share the
   * messages; a message published while no replica runs waits in the stream. The handler's promise resolving
   * is the ack (so commit before returning); throwing means retry later, up to `maxDeliver`, then dead-letter.
   */
  async consume<S extends Subject>(
    subject: S,
    opts: ConsumeOptions,
    handler: (event: EventOf<S>, ctx: MessageContext) => Promise<void>,
  ): Promise<void> {
    const stream = this.streamFor(subject);
    const maxDeliver = opts.maxDeliver ?? DEFAULT_MAX_DELIVER;
    const ackWaitMs = opts.ackWaitMs ?? DEFAULT_ACK_WAIT_MS;
    const cfg = {
      durable_name: opts.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      filter_subject: subject,
      max_deliver: maxDeliver,
      ack_wait: nanos(ackWaitMs),
      max_ack_pending: 1000,
    };
    try {
      await this.jsm.consumers.info(stream, opts.durable);
      await this.jsm.consumers.update(stream, opts.durable, { max_deliver: maxDeliver, ack_wait: nanos(ackWaitMs) });
    } catch (err) {
      if (!/consumer not found/i.test(String((err as Error).message))) throw err;
      try {
        await this.jsm.consumers.add(stream, cfg);
      } catch (e) {
        if (!/already|exists/i.test(String((e as Error).message))) throw e;
      }
    }
    const consumer = await this.js.consumers.get(stream, opts.durable);
    const concurrency = Math.max(1, opts.concurrency ?? 4);
    const messages = await consumer.consume({ max_messages: concurrency });
    this.loops.push(messages);
    const running = new Set<Promise<void>>();
    void (async () => {
      for await (const m of messages) {
        const p = this.handleOne(subject, m, opts, maxDeliver, ackWaitMs, handler).finally(() => {
          running.delete(p);
          this.inflight.delete(p);
        });
        running.add(p);
        this.inflight.add(p);
        if (running.size >= concurrency) await Promise.race(running);
      }
    })().catch((err) => this.log('error', `consumer ${opts.durable} stopped`, { err: String(err) }));
  }

  private async handleOne<S extends Subject>(
    subject: S,
    m: JsMsg,
    opts: ConsumeOptions,
    maxDeliver: number,
    ackWaitMs: number,
    handler: (event: EventOf<S>, ctx: MessageContext) => Promise<void>,
  ): Promise<void> {
    const parent = extractTraceContext(m.headers ? headerCarrier(m.headers) : undefined);
    const raw = m.string();
    await context.with(parent, () =>
      withSpan(
        `${m.subject} process`,
        {
          kind: SpanKind.CONSUMER,
          attributes: {
            'messaging.system': 'nats',
            'messaging.destination.name': m.subject,
            'messaging.consumer.group.name': opts.durable,
            'messaging.nats.delivery_count': m.info.deliveryCount,
          },
        },
        async (span) => {
          let event: EventOf<S>;
          try {
            let plain: unknown;
            try {
              plain = JSON.parse(raw);
            } catch {
              throw new ContractViolation(subject, ['payload is not valid JSON']);
            }
            event = validateEvent(subject, plain);
          } catch (err) {
            await this.deadLetter(m, opts.durable, (err as Error).message, raw);
            m.term();
            span.setAttribute('minicloud.dead_letter', true);
            return;
          }
          span.setAttribute('messaging.message.id', event.eventId);
          const keepAlive = setInterval(() => m.working(), Math.max(1000, Math.floor(ackWaitMs / 3)));
          try {
            await handler(event, {
              subject: m.subject,
              deliveryCount: m.info.deliveryCount,
              streamSequence: m.info.streamSequence,
              working: () => m.working(),
            });
            m.ack();
          } catch (err) {
            const reason = (err as Error)?.message ?? String(err);
            if (err instanceof PermanentError || m.info.deliveryCount >= maxDeliver) {
              const why = err instanceof PermanentError ? reason : `failed ${m.info.deliveryCount} deliveries (limit ${maxDeliver}); last error: ${reason}`;
              await this.deadLetter(m, opts.durable, why, raw);
              m.term();
            } else {
              const delay = (opts.retryDelayMs ?? 500) * 2 ** (m.info.deliveryCount - 1);
              this.log('warn', `handler failed, will retry`, { subject: m.subject, consumer: opts.durable, delivery: m.info.deliveryCount, err: reason });
              m.nak(Math.min(delay, 30_000));
            }
            throw err;
          } finally {
            clearInterval(keepAlive);
          }
        },
      ),
    ).catch(() => undefined);
  }

  private async deadLetter(m: JsMsg, consumer: string, reason: string, raw: string): Promise<void> {
    const subject = deadLetterSubject(consumer, m.subject);
    const h = natsHeaders();
    h.set('Minicloud-Dead-Reason', reason.replace(/[\r\n]+/g, ' ').slice(0, 1000));
    h.set('Minicloud-Original-Subject', m.subject);
    const traceparent = m.headers?.get('traceparent');
    if (traceparent) h.set('traceparent', traceparent);
    const body = JSON.stringify({
      reason,
      subject: m.subject,
      consumer,
      deliveries: m.info.deliveryCount,
      streamSequence: m.info.streamSequence,
      deadAt: new Date().toISOString(),
      payload: raw,
    });
    this.log('warn', 'message dead-lettered', { subject: m.subject, consumer, reason, deadLetterSubject: subject });
    await this.js.publish(subject, body, { headers: h, msgID: `${consumer}:${m.info.streamSequence}` });
  }

  /**
   * Answers requests on `subject` (one replica of the queue group answers each). The request is validated
   * against `cls`; a validation failure is answered as a 400, an RpcError with its status, anything else 500.
   */
  serve<Req extends object, Res>(
    subject: RpcSubject,
    cls: new () => Req,
    queue: string,
    handler: (req: Req) => Promise<Res>,
  ): void {
    const sub = this.nc.subscribe(subject, { queue });
    this.subs.push(sub);
    void (async () => {
      for await (const m of sub) {
        void this.answer(m, subject, cls, handler);
      }
    })();
  }

  private async answer<Req extends object, Res>(m: Msg, subject: string, cls: new () => Req, handler: (req: Req) => Promise<Res>) {
    const parent = extractTraceContext(m.headers ? headerCarrier(m.headers) : undefined);
    const reply: RpcReply<Res> = await context.with(parent, () =>
      withSpan(`${subject} serve`, { kind: SpanKind.SERVER, attributes: { 'messaging.system': 'nats', 'rpc.method': subject } }, async () => {
        try {
          const plain = JSON.parse(m.string());
          const req = validateAs(cls, plain, subject);
          return { ok: true as const, result: await handler(req) };
        } catch (err) {
          if (err instanceof ContractViolation) return { ok: false as const, error: { status: 400, message: err.problems.join('; ') } };
          if (err instanceof RpcError) return { ok: false as const, error: { status: err.status, message: err.message } };
          if (err instanceof SyntaxError) return { ok: false as const, error: { status: 400, message: 'request is not valid JSON' } };
          this.log('error', 'rpc handler failed', { subject, err: String((err as Error)?.stack ?? err) });
          return { ok: false as const, error: { status: 500, message: (err as Error)?.message ?? String(err) } };
        }
      }),
    );
    m.respond(JSON.stringify(reply));
  }

  /** Asks the service behind `subject`; throws RpcError with the answering service's status on failure. */
  async request<Res>(subject: RpcSubject, body: object, timeoutMs = 30_000): Promise<Res> {
    return withSpan(`${subject} request`, { kind: SpanKind.CLIENT, attributes: { 'messaging.system': 'nats', 'rpc.method': subject } }, async () => {
      const h = natsHeaders();
      injectTraceHeaders(h);
      let msg: Msg;
      try {
        msg = await this.nc.request(subject, JSON.stringify(body), { timeout: timeoutMs, headers: h });
      } catch (err) {
        const text = String((err as Error)?.message ?? err);
        if (/503|no responders/i.test(text)) throw new RpcError(503, `no ${subject.split('.')[1]} service is answering`);
        if (/timeout/i.test(text)) throw new RpcError(504, `${subject} did not answer within ${timeoutMs} ms`);
        throw new RpcError(502, text);
      }
      const reply = JSON.parse(msg.string()) as RpcReply<Res>;
      if (!reply.ok) throw new RpcError(reply.error.status, reply.error.message);
      return reply.result;
    });
  }

  isConnected(): boolean {
    return !this.nc.isClosed();
  }

  /** Readiness: the connection is up and JetStream answers. */
  async ping(): Promise<void> {
    if (this.nc.isClosed()) throw new Error('NATS connection closed');
    await this.jsm.getAccountInfo();
  }

  /** Stops taking messages, lets running handlers finish (up to `graceMs`), then closes. */
  async close(graceMs = Number(process.env.MINICLOUD_SHUTDOWN_GRACE_MS ?? 15_000)): Promise<void> {
    for (const l of this.loops) l.stop();
    for (const s of this.subs) s.unsubscribe();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inflight]),
      new Promise((r) => (timer = setTimeout(r, graceMs))),
    ]);
    clearTimeout(timer);
    if (!this.nc.isClosed()) await this.nc.drain().catch(() => undefined);
  }
}

export function headerCarrier(h: MsgHdrs) {
  return {
    get: (k: string) => (h.has(k) ? h.get(k) : undefined),
    set: (k: string, v: string) => h.set(k, v),
  };
}

function defaultLog(level: string, msg: string, extra?: Record<string, unknown>) {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), level, context: 'Bus', msg, ...extra }) + '\n');
}
