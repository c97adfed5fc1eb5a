/**
 * The CLI as a function: argv and injected dependencies in, an exit code out. main.ts wires it to the process;
 * tests call it with a fake API and streams.
 */
import { randomUUID } from 'crypto';
import { Api, createApiClient, normalizeBaseUrl } from './api-client';
import { helpText, parseCommandLine } from './args';
import { COMMANDS } from './commands';
import { hostHandlers, ImportFailed } from './commands/hosts';
import { imageHandlers } from './commands/images';
import { flavorHandlers } from './commands/flavors';
import { vmHandlers } from './commands/vms';
import { migrationHandlers } from './commands/migrations';
import { plannerHandlers } from './commands/planner';
import { Ctx, Handler, Output, printJson } from './context';
import { ApiError, describeError, exitCodeFor, ExitCode, UsageError } from './errors';
import { Clock, realClock } from './follow';

export const VERSION = '0.1.0';
export const DEFAULT_API = 'http://127.0.0.1:8080';
export const DEFAULT_WAIT_TIMEOUT_S = 600;

export const HANDLERS: Record<string, Handler> = { ...hostHandlers, ...imageHandlers, ...flavorHandlers, ...vmHandlers, ...migrationHandlers, ...plannerHandlers };

export interface CliDeps {
  env: Record<string, string | undefined>;
  stdout: Output;
  stderr: Output;
  cwd: string;
  readFile(path: string): string;
  makeApi?(baseUrl: string): Api;
  clock?: Clock;
  newKey?(): string;
  pollIntervalMs?: number;
}

/** Extra lines some error bodies carry: a 409 on host removal lists the VMs still on the host. */
function extraErrorLines(err: unknown): string[] {
  if (!(err instanceof ApiError) || !err.raw || typeof err.raw !== 'object') return [];
  const vms = (err.raw as { vms?: unknown }).vms;
  if (!Array.isArray(vms) || vms.length === 0) return [];
  return [
    `  VMs on it (${vms.length}):`,
    ...vms.map((v) => {
      if (typeof v === 'string') return `    ${v}`;
      const o = (v ?? {}) as Record<string, unknown>;
      return `    ${o.name ?? '-'} ${o.id ?? ''}${o.status ? ' (' + o.status + ')' : ''}`.trimEnd();
    }),
  ];
}

export async function run(argv: string[], deps: CliDeps): Promise<number> {
  let json = false;
  try {
    const parsed = parseCommandLine(argv, COMMANDS);
    json = parsed.global.json;
    if (parsed.kind === 'version') {
      deps.stdout.write(`minicloud ${VERSION}\n`);
      return ExitCode.Ok;
    }
    if (parsed.kind === 'help') {
      deps.stdout.write(helpText(parsed.path, COMMANDS));
      return ExitCode.Ok;
    }
    const rawApi = parsed.global.api ?? (deps.env.MINICLOUD_API || DEFAULT_API);
    let baseUrl: string;
    try {
      baseUrl = normalizeBaseUrl(rawApi);
    } catch (e) {
      throw new UsageError(`${parsed.global.api !== undefined ? '--api' : 'MINICLOUD_API'}: ${(e as Error).message}`);
    }
    const api = deps.makeApi ? deps.makeApi(baseUrl) : createApiClient({ baseUrl, userAgent: `minicloud-cli/${VERSION}` });
    let posts = 0;
    const override = parsed.global.idempotencyKey;
    const ctx: Ctx = {
      api,
      args: parsed.args,
      options: parsed.options,
      json,
      waitTimeoutMs: (parsed.global.timeout ?? DEFAULT_WAIT_TIMEOUT_S) * 1000,
      stdout: deps.stdout,
      stderr: deps.stderr,
      clock: deps.clock ?? realClock,
      cwd: deps.cwd,
      readFile: deps.readFile,
      pollIntervalMs: deps.pollIntervalMs ?? 500,
      idempotencyKey: () => {
        posts++;
        if (override !== undefined) return posts === 1 ? override : `${override}-${posts}`;
        return (deps.newKey ?? randomUUID)();
      },
    };
    const handler = HANDLERS[parsed.command.path.join(' ')];
    if (!handler) throw new UsageError(`"${parsed.command.path.join(' ')}" is not implemented`);
    await handler(ctx);
    return ExitCode.Ok;
  } catch (err) {
    // With --json a server refusal is also printed as the server's JSON (stdout), so scripts get one document.
    if (json && err instanceof ApiError) printJson({ stdout: deps.stdout } as Ctx, err.raw ?? err.body);
    if (!(err instanceof ImportFailed)) {
      const lines = [...describeError(err), ...extraErrorLines(err)];
      deps.stderr.write(lines.map((l) => `minicloud: ${l}`).join('\n') + '\n');
    } else {
      deps.stderr.write(`minicloud: ${err.message}\n`);
    }
    return exitCodeFor(err);
  }
}
