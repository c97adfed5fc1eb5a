import { context, propagation, Span, SpanKind, SpanStatusCode, trace, Context, Attributes } from '@opentelemetry/api';

export const TRACER_NAME = 'minicloud';

export function tracer() {
  return trace.getTracer(TRACER_NAME);
}

/**
 * Runs `fn` inside a new active span; records the error and rethrows on failure.
 * Every unit of work that crosses a boundary (bus message, SSH command, RPC) goes through here.
 */
export async function withSpan<T>(
  name: string,
  opts: { kind?: SpanKind; attributes?: Attributes; parent?: Context },
  fn: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = opts.parent ?? context.active();
  return tracer().startActiveSpan(name, { kind: opts.kind ?? SpanKind.INTERNAL, attributes: opts.attributes }, parent, async (span) => {
    try {
      const result = await fn(span);
      span.setStatus({ code: SpanStatusCode.OK });
      return result;
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error)?.message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/** A carrier for any header map with get/set (NATS MsgHdrs, plain records). */
export interface HeaderLike {
  get(key: string): string | undefined | null;
  set(key: string, value: string): void;
}

/** Writes the active context (W3C traceparent/tracestate) into headers. */
export function injectTraceHeaders(headers: HeaderLike, ctx: Context = context.active()): void {
  propagation.inject(ctx, headers, {
    set: (carrier, key, value) => carrier.set(key, value),
  });
}

/** Reads a W3C trace context from headers; returns the root context when none is present. */
export function extractTraceContext(headers: HeaderLike | undefined): Context {
  if (!headers) return context.active();
  return propagation.extract(context.active(), headers, {
    get: (carrier, key) => carrier.get(key) ?? undefined,
    keys: () => ['traceparent', 'tracestate'],
  });
}

export function currentTraceId(): string | undefined {
  const span = trace.getSpan(context.active());
  const id = span?.spanContext().traceId;
  return id && id !== '00000000000000000000000000000000' ? id : undefined;
}

export { SpanKind, context, trace };
