import { AckPolicy, ConsumerMessages, DeliverPolicy, headers as natsHeaders, JsMsg, nanos } from 'nats';
import { context, Link, SpanKind, trace } from '@opentelemetry/api';
import { deadLetterSubject, EventOf, Streams, Subject, validateEvent } from '@minicloud/contracts';
import { Bus, headerCarrier } from '@minicloud/messaging';
import { extractTraceContext, withSpan } from '@minicloud/telemetry';

export interface BatchConsumerOptions {
  durable: string;
  batchSize: number;
  flushMs: number;
  /** Unacknowledged messages the server lets this consumer hold (the pipeline's depth). */
  maxAckPending: number;
  maxDeliver?: number;
  ackWaitMs?: number;
  log: (level: 'info' | 'warn' | 'error', msg: string, extra?: Record<string, unknown>) => void;
  /** Called per batch after the commit, with each event's lag (commit time − occurredAt) in seconds. */
  onCommitted?: (n: number, lagsSeconds: number[]) => void;
}

/**
 * A durable JetStream consumer that hands the handler whole batches (up to `batchSize`, or what arrived within
 * `flushMs`) so they can be stored with one INSERT — telemetry at 10,000 messages/s cannot afford a transaction per
 * message. Same contract as Bus.consume otherwise: every message is validated against its contract (invalid ones
 * go to the dead-letter subject with the reason), messages are acked only after the handler's commit, a failed
 * batch is redelivered (nak with backoff) up to `maxDeliver`, then dead-lettered. One span per batch, linked to the
 * trace context of each message.
 */
export class BatchConsumer<S extends Subject> {
  private messages?: ConsumerMessages;
  private pending: JsMsg[] = [];
  private timer?: NodeJS.Timeout;
  private draining = false;
  private drained: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly bus: Bus,
    private readonly subject: S,
    private readonly o: BatchConsumerOptions,
    private readonly handler: (events: EventOf<S>[]) => Promise<void>,
  ) {}

  async start(): Promise<void> {
    const stream = Streams.find((s) => s.subjects.includes(this.subject))?.name;
    if (!stream) throw new Error(`no stream holds ${this.subject}`);
    const maxDeliver = this.o.maxDeliver ?? 5;
    const ackWait = nanos(this.o.ackWaitMs ?? 30_000);
    try {
      await this.bus.jsm.consumers.info(stream, this.o.durable);
      await this.bus.jsm.consumers.update(stream, this.o.durable, { max_deliver: maxDeliver, ack_wait: ackWait, max_ack_pending: this.o.maxAckPending });
    } catch (err) {
      if (!/consumer not found/i.test(String((err as Error).message))) throw err;
      await this.bus.jsm.consumers
        .add(stream, {
          durable_name: this.o.durable,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
          filter_subject: this.subject,
          max_deliver: maxDeliver,
          ack_wait: ackWait,
          max_ack_pending: this.o.maxAckPending,
        })
        .catch((e) => {
          if (!/already|exists/i.test(String((e as Error).message))) throw e;
        });
    }
    const consumer = await this.bus.js.consumers.get(stream, this.o.durable);
    this.messages = await consumer.consume({ max_messages: Math.min(this.o.maxAckPending, Math.max(256, this.o.batchSize * 2)) });
    const messages = this.messages;
    void (async () => {
      for await (const m of messages) {
        this.pending.push(m);
        if (this.pending.length >= this.o.batchSize) void this.drain();
        else if (!this.timer) this.timer = setTimeout(() => void this.drain(), this.o.flushMs);
      }
    })().catch((err) => this.o.log('error', `batch consumer ${this.o.durable} stopped`, { err: String(err) }));
  }

  /** Stops pulling, then stores what was already received. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.messages?.stop();
    if (this.timer) clearTimeout(this.timer);
    await this.drained;
    if (this.pending.length) await this.drain();
    await this.drained;
  }

  private drain(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.draining) return this.drained;
    this.draining = true;
    this.drained = (async () => {
      try {
        while (this.pending.length) {
          const batch = this.pending.splice(0, this.o.batchSize);
          await this.process(batch);
          // A partial batch waits for more (or the timer) unless we are shutting down.
          if (this.pending.length < this.o.batchSize && !this.stopped) break;
        }
      } finally {
        this.draining = false;
        if (this.pending.length && !this.timer) this.timer = setTimeout(() => void this.drain(), this.o.flushMs);
      }
    })();
    return this.drained;
  }

  private async process(batch: JsMsg[]): Promise<void> {
    const good: { m: JsMsg; e: EventOf<S> }[] = [];
    const links: Link[] = [];
    for (const m of batch) {
      try {
        let plain: unknown;
        try {
          plain = JSON.parse(m.string());
        } catch {
          throw new Error('payload is not valid JSON');
        }
        good.push({ m, e: validateEvent(this.subject, plain) });
        const sc = m.headers ? trace.getSpanContext(extractTraceContext(headerCarrier(m.headers))) : undefined;
        if (sc && links.length < 128) links.push({ context: sc });
      } catch (err) {
        await this.deadLetter(m, (err as Error).message);
      }
    }
    if (!good.length) return;
    try {
      await withSpan(
        `${this.subject} process batch`,
        { kind: SpanKind.CONSUMER, parent: context.active(), attributes: { 'messaging.system': 'nats', 'messaging.destination.name': this.subject, 'messaging.consumer.group.name': this.o.durable, 'messaging.batch.message_count': good.length } },
        async (span) => {
          for (const l of links) span.addLink(l);
          await this.handler(good.map((g) => g.e));
        },
      );
    } catch (err) {
      const reason = (err as Error)?.message ?? String(err);
      this.o.log('warn', 'batch failed, will be redelivered', { subject: this.subject, consumer: this.o.durable, messages: good.length, err: reason });
      const maxDeliver = this.o.maxDeliver ?? 5;
      for (const { m } of good) {
        if (m.info.deliveryCount >= maxDeliver) await this.deadLetter(m, `failed ${m.info.deliveryCount} deliveries (limit ${maxDeliver}); last error: ${reason}`);
        else m.nak(Math.min(500 * 2 ** (m.info.deliveryCount - 1), 30_000));
      }
      return;
    }
    const now = Date.now();
    for (const { m } of good) m.ack();
    this.o.onCommitted?.(good.length, good.map(({ e }) => (now - Date.parse(e.occurredAt)) / 1000));
  }

  private async deadLetter(m: JsMsg, reason: string): Promise<void> {
    const h = natsHeaders();
    h.set('Minicloud-Dead-Reason', reason.replace(/[\r\n]+/g, ' ').slice(0, 1000));
    h.set('Minicloud-Original-Subject', m.subject);
    const tp = m.headers?.get('traceparent');
    if (tp) h.set('traceparent', tp);
    const body = JSON.stringify({
      reason,
      subject: m.subject,
      consumer: this.o.durable,
      deliveries: m.info.deliveryCount,
      streamSequence: m.info.streamSequence,
      deadAt: new Date().toISOString(),
      payload: m.string(),
    });
    this.o.log('warn', 'message dead-lettered', { subject: m.subject, consumer: this.o.durable, reason });
    try {
      await this.bus.js.publish(deadLetterSubject(this.o.durable, m.subject), body, { headers: h, msgID: `${this.o.durable}:${m.info.streamSequence}` });
      m.term();
    } catch (err) {
      // Not dead-lettered: leave it to be redelivered rather than lose it.
      this.o.log('error', 'dead letter could not be published', { err: String(err) });
      m.nak(1000);
    }
  }
}
