/**
 * A small, strict command-line parser driven by a table of command specs (commands.ts). Pure: argv in,
 * a parsed command (or a help request) out, UsageError for anything malformed.
 */
import { UsageError } from './errors';

export type OptionType = 'string' | 'int' | 'boolean';

export interface OptionSpec {
  name: string;
  type: OptionType;
  /** May be given more than once; the value is then an array. */
  repeat?: boolean;
  /** Placeholder shown in help (e.g. FILE). */
  value?: string;
  /** Smallest accepted integer (int options). */
  min?: number;
  /** Largest accepted integer (int options). */
  max?: number;
  /** The only accepted values (string options). */
  choices?: readonly string[];
  help: string;
}

export interface ArgSpec {
  name: string;
  optional?: boolean;
}

export interface CommandSpec {
  /** e.g. ['vm', 'create'] */
  path: string[];
  summary: string;
  args: ArgSpec[];
  options: OptionSpec[];
  /** Extra usage text after the options (constraints, examples). */
  details?: string[];
}

export type OptionValue = string | number | boolean | string[] | number[];
export type Options = Record<string, OptionValue | undefined>;

export interface GlobalOptions {
  api?: string;
  json: boolean;
  idempotencyKey?: string;
  timeout?: number;
}

export type ParseResult =
  | { kind: 'help'; path: string[]; global: GlobalOptions }
  | { kind: 'version'; global: GlobalOptions }
  | { kind: 'run'; command: CommandSpec; args: Record<string, string | undefined>; options: Options; global: GlobalOptions };

export const GLOBAL_OPTIONS: OptionSpec[] = [
  { name: 'api', type: 'string', value: 'URL', help: 'the minicloud API (default $MINICLOUD_API or http://127.0.0.1:8080)' },
  { name: 'json', type: 'boolean', help: "print the server's JSON (one document) instead of tables" },
  { name: 'idempotency-key', type: 'string', value: 'KEY', help: 'the Idempotency-Key header of POST requests (default: a random UUID)' },
  { name: 'timeout', type: 'int', value: 'SECONDS', min: 1, help: 'how long --wait follows before giving up (default 600)' },
  { name: 'help', type: 'boolean', help: 'show help' },
];

const GROUP_ALIASES: Record<string, string> = { vms: 'vm', host: 'hosts', image: 'images', flavor: 'flavors', migrations: 'migration' };

function findOption(specs: OptionSpec[], name: string): OptionSpec | undefined {
  return specs.find((s) => s.name === name);
}

function convert(spec: OptionSpec, raw: string, where: string): string | number {
  if (spec.type === 'int') {
    if (!/^-?\d+$/.test(raw)) throw new UsageError(`--${spec.name} must be a whole number, got "${raw}"`, where);
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) throw new UsageError(`--${spec.name} is too large`, where);
    if (spec.min !== undefined && n < spec.min) throw new UsageError(`--${spec.name} must be at least ${spec.min}, got ${n}`, where);
    if (spec.max !== undefined && n > spec.max) throw new UsageError(`--${spec.name} must be at most ${spec.max}, got ${n}`, where);
    return n;
  }
  if (spec.choices && !spec.choices.includes(raw)) throw new UsageError(`--${spec.name} must be one of ${spec.choices.join(', ')}, got "${raw}"`, where);
  return raw;
}

/** Sets one option value, handling repeats and booleans. */
function assign(target: Options, spec: OptionSpec, value: string | number | boolean, where: string): void {
  if (spec.repeat) {
    const prev = (target[spec.name] as (string | number)[] | undefined) ?? [];
    target[spec.name] = [...prev, value as string | number] as string[] | number[];
    return;
  }
  if (target[spec.name] !== undefined && spec.type !== 'boolean') throw new UsageError(`--${spec.name} given more than once`, where);
  target[spec.name] = value;
}

function toGlobal(o: Options): GlobalOptions {
  return {
    api: o['api'] as string | undefined,
    json: o['json'] === true,
    idempotencyKey: o['idempotency-key'] as string | undefined,
    timeout: o['timeout'] as number | undefined,
  };
}

export function parseCommandLine(argv: string[], commands: CommandSpec[]): ParseResult {
  const globals: Options = {};
  const path: string[] = [];
  let help = false;
  let i = 0;

  /** Reads one option token at argv[i] against `specs`; returns false when it is not one of them. */
  const readOption = (specs: OptionSpec[], into: Options, where: string): boolean => {
    const token = argv[i];
    if (token === '-h') {
      help = true;
      i++;
      return true;
    }
    if (!token.startsWith('--')) return false;
    const eq = token.indexOf('=');
    const name = token.slice(2, eq === -1 ? undefined : eq);
    const spec = findOption(specs, name);
    if (!spec) return false;
    if (spec.name === 'help') {
      help = true;
      i++;
      return true;
    }
    if (spec.type === 'boolean') {
      if (eq !== -1) throw new UsageError(`--${name} takes no value`, where);
      assign(into, spec, true, where);
      i++;
      return true;
    }
    let raw: string;
    if (eq !== -1) {
      raw = token.slice(eq + 1);
      i++;
    } else {
      if (i + 1 >= argv.length) throw new UsageError(`--${name} needs a value${spec.value ? ' (' + spec.value + ')' : ''}`, where);
      raw = argv[i + 1];
      i += 2;
    }
    assign(into, spec, convert(spec, raw, where), where);
    return true;
  };

  // 1. The command path: leading words, global options allowed in between.
  let command: CommandSpec | undefined;
  while (i < argv.length && !command) {
    const token = argv[i];
    if (token === '--version' || token === '-V') return { kind: 'version', global: toGlobal(globals) };
    if (token.startsWith('-')) {
      if (readOption(GLOBAL_OPTIONS, globals, path.join(' '))) continue;
      if (help) break;
      throw new UsageError(path.length ? `unknown option ${token.split('=')[0]} for "${path.join(' ')}" (a command is missing)` : `unknown option ${token.split('=')[0]}`, path.join(' ') || undefined);
    }
    if (token === 'help' && path.length === 0) {
      help = true;
      i++;
      continue;
    }
    const word = path.length === 0 ? (GROUP_ALIASES[token] ?? token) : token;
    const candidate = [...path, word];
    const prefixMatches = commands.filter((c) => candidate.every((w, k) => c.path[k] === w));
    if (prefixMatches.length === 0) {
      if (path.length === 0) throw new UsageError(`unknown command "${token}"`);
      throw new UsageError(`unknown command "${candidate.join(' ')}"`, path.join(' '));
    }
    path.push(word);
    i++;
    command = prefixMatches.find((c) => c.path.length === path.length);
  }
  if (help) return { kind: 'help', path, global: toGlobal(globals) };
  if (!command) {
    if (path.length === 0) return { kind: 'help', path, global: toGlobal(globals) };
    throw new UsageError(`"${path.join(' ')}" needs a subcommand`, path.join(' '));
  }

  // 2. The command's arguments and options (global options still allowed).
  const where = command.path.join(' ');
  const options: Options = {};
  const positionals: string[] = [];
  let endOfOptions = false;
  while (i < argv.length) {
    const token = argv[i];
    if (!endOfOptions && token === '--') {
      endOfOptions = true;
      i++;
      continue;
    }
    if (!endOfOptions && token.startsWith('-') && token !== '-') {
      if (readOption(command.options, options, where)) continue;
      if (readOption(GLOBAL_OPTIONS, globals, where)) continue;
      throw new UsageError(`unknown option ${token.split('=')[0]} for "${where}"`, where);
    }
    positionals.push(token);
    i++;
  }
  if (help) return { kind: 'help', path: command.path, global: toGlobal(globals) };

  const args: Record<string, string | undefined> = {};
  command.args.forEach((a, k) => {
    if (positionals[k] === undefined && !a.optional) throw new UsageError(`missing ${a.name}`, where);
    args[a.name] = positionals[k];
  });
  if (positionals.length > command.args.length) throw new UsageError(`unexpected argument "${positionals[command.args.length]}"`, where);
  return { kind: 'run', command, args, options, global: toGlobal(globals) };
}

/** "k=v" → [k, v]; the key must be non-empty, the value may be empty. */
export function parseTag(raw: string): [string, string] {
  const eq = raw.indexOf('=');
  if (eq <= 0) throw new UsageError(`--tag must be KEY=VALUE, got "${raw}"`);
  return [raw.slice(0, eq), raw.slice(eq + 1)];
}

export function parseTags(raw: string[] | undefined): Record<string, string> | undefined {
  if (!raw || raw.length === 0) return undefined;
  const tags: Record<string, string> = {};
  for (const r of raw) {
    const [k, v] = parseTag(r);
    if (k in tags && tags[k] !== v) throw new UsageError(`--tag ${k} given twice with different values`);
    tags[k] = v;
  }
  return tags;
}

function optionUsage(o: OptionSpec): string {
  return `--${o.name}${o.type === 'boolean' ? '' : ' ' + (o.value ?? (o.choices ? o.choices.join('|') : o.type === 'int' ? 'N' : 'VALUE'))}`;
}

function usageLine(c: CommandSpec): string {
  const args = c.args.map((a) => (a.optional ? `[${a.name}]` : a.name)).join(' ');
  return ['minicloud', ...c.path, args, c.options.length ? '[options]' : ''].filter(Boolean).join(' ');
}

function optionLines(specs: OptionSpec[]): string[] {
  const rows = specs.map((o) => [optionUsage(o) + (o.repeat ? ' ...' : ''), o.help] as const);
  const width = Math.max(...rows.map((r) => r[0].length));
  return rows.map(([u, h]) => `  ${u.padEnd(width)}  ${h}`);
}

/** Help text for the top level, a group ("vm") or one command ("vm create"). */
export function helpText(path: string[], commands: CommandSpec[]): string {
  const exact = commands.find((c) => c.path.join(' ') === path.join(' '));
  if (exact) {
    const lines = [`Usage: ${usageLine(exact)}`, '', exact.summary];
    if (exact.options.length) lines.push('', 'Options:', ...optionLines(exact.options));
    if (exact.details?.length) lines.push('', ...exact.details);
    lines.push('', 'Global options:', ...optionLines(GLOBAL_OPTIONS));
    return lines.join('\n') + '\n';
  }
  const under = commands.filter((c) => path.every((w, k) => c.path[k] === w));
  const list = under.length ? under : commands;
  const rows = list.map((c) => [[...c.path, ...c.args.map((a) => (a.optional ? `[${a.name}]` : a.name))].join(' '), c.summary] as const);
  const width = Math.max(...rows.map((r) => r[0].length));
  const lines = [
    path.length && under.length ? `Usage: minicloud ${path.join(' ')} <command> [options]` : 'Usage: minicloud <command> [options]',
    '',
    'minicloud: the command-line client of the minicloud REST API.',
    '',
    'Commands:',
    ...rows.map(([u, h]) => `  ${u.padEnd(width)}  ${h}`),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Exit codes: 0 ok, 1 refused by the server (4xx), 2 usage error, 3 server error or unreachable,',
    '            4 operation failed, 5 gave up waiting (--timeout).',
    `Run "minicloud ${path.length && under.length ? path.join(' ') + ' ' : ''}<command> --help" for a command's options.`,
  ];
  return lines.join('\n') + '\n';
}
