import { LoggerService } from '@nestjs/common';
import { currentTraceId } from './tracing';
import { trace, context } from '@opentelemetry/api';

type Level = 'error' | 'warn' | 'info' | 'debug' | 'verbose' | 'fatal';
const order: Record<Level, number> = { fatal: 0, error: 1, warn: 2, info: 3, debug: 4, verbose: 5 };

/**
 * Structured JSON logs, one object per line, carrying the active trace and span ids so a log line can be
 * found from a trace and the other way round. Level from LOG_LEVEL (default info).
 */
export class JsonLogger implements LoggerService {
  private readonly max: number;

  constructor(
    private readonly service: string,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {
    const lvl = (process.env.LOG_LEVEL ?? 'info') as Level;
    this.max = order[lvl] ?? order.info;
  }

  log(message: unknown, ...rest: unknown[]) {
    this.write('info', message, rest);
  }
  error(message: unknown, ...rest: unknown[]) {
    this.write('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]) {
    this.write('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]) {
    this.write('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]) {
    this.write('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]) {
    this.write('fatal', message, rest);
  }

  private write(level: Level, message: unknown, rest: unknown[]) {
    if (order[level] > this.max) return;
    const entry: Record<string, unknown> = { time: new Date().toISOString(), level, service: this.service };
    // Nest passes the context (class name) as the last string argument.
    const args = [...rest];
    if (args.length && typeof args[args.length - 1] === 'string') entry.context = args.pop();
    if (message instanceof Error) {
      entry.msg = message.message;
      entry.stack = message.stack;
    } else if (typeof message === 'object' && message !== null) {
      Object.assign(entry, message);
    } else {
      entry.msg = String(message);
    }
    for (const a of args) {
      if (typeof a === 'string' && level === 'error') entry.stack = a;
      else if (a instanceof Error) entry.err = a.message;
      else if (typeof a === 'object' && a) Object.assign(entry, a);
    }
    const span = trace.getSpan(context.active());
    const traceId = currentTraceId();
    if (traceId) {
      entry.trace_id = traceId;
      entry.span_id = span?.spanContext().spanId;
    }
    this.out.write(JSON.stringify(entry) + '\n');
  }
}
