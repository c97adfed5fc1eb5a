import { ParseError } from './errors';
import type { DomainInfo, DomainState } from './types';

function positiveInt(what: string, raw: string | undefined, output: string): number {
  if (raw === undefined || !/^\d+$/.test(raw.trim())) throw new ParseError(what, `expected a whole number, got ${JSON.stringify(raw ?? null)}`, output);
  const n = Number(raw.trim());
  if (!Number.isSafeInteger(n)) throw new ParseError(what, 'number out of range', output);
  return n;
}

/** `virsh version`: library and running hypervisor versions. */
export function parseVirshVersion(out: string): { libvirtVersion: string; hypervisorVersion: string } {
  const lib = /^Using library:\s*libvirt\s+(\S+)\s*$/m.exec(out);
  if (!lib) throw new ParseError('virsh version', 'no "Using library: libvirt X" line', out);
  const hv = /^Running hypervisor:\s*(\S+)\s+(\S+)\s*$/m.exec(out);
  if (!hv) throw new ParseError('virsh version', 'no "Running hypervisor: NAME X" line (is libvirtd connected to a hypervisor?)', out);
  return { libvirtVersion: lib[1], hypervisorVersion: `${hv[1]} ${hv[2]}` };
}

/** `virsh nodeinfo`: key/value lines. */
export function parseNodeinfo(out: string): { cpuModel: string; cpus: number; memoryKiB: number; sockets?: number; coresPerSocket?: number; threadsPerCore?: number } {
  const kv = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^([^:]+):\s*(.*?)\s*$/.exec(line);
    if (m) kv.set(m[1].trim(), m[2]);
  }
  const mem = /^(\d+)\s*KiB$/.exec(kv.get('Memory size') ?? '');
  if (!mem) throw new ParseError('virsh nodeinfo', 'no "Memory size: N KiB" line', out);
  const opt = (k: string) => (kv.has(k) ? positiveInt(`virsh nodeinfo ${k}`, kv.get(k), out) : undefined);
  const model = kv.get('CPU model');
  if (!model) throw new ParseError('virsh nodeinfo', 'no "CPU model" line', out);
  return {
    cpuModel: model,
    cpus: positiveInt('virsh nodeinfo CPU(s)', kv.get('CPU(s)'), out),
    memoryKiB: positiveInt('virsh nodeinfo memory', mem[1], out),
    sockets: opt('CPU socket(s)'),
    coresPerSocket: opt('Core(s) per socket'),
    threadsPerCore: opt('Thread(s) per core'),
  };
}

const DOMSTATES: Record<string, DomainState> = {
  running: 'running',
  idle: 'blocked',
  blocked: 'blocked',
  paused: 'paused',
  'in shutdown': 'shutdown',
  'shut off': 'shutoff',
  crashed: 'crashed',
  pmsuspended: 'pmsuspended',
  'no state': 'nostate',
};

/** `virsh domstate NAME` (first line; `--reason` adds " (reason)"). */
export function parseDomstate(out: string): DomainState {
  const first = out.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
  const state = DOMSTATES[first.replace(/\s*\(.*\)$/, '')];
  if (!state) throw new ParseError('virsh domstate', `unknown state ${JSON.stringify(first)}`, out);
  return state;
}

/** virsh's "no such domain" error text (the exit code alone does not say why). */
export function isNoSuchDomain(stderr: string): boolean {
  return /failed to get domain|Domain not found|no domain with matching/i.test(stderr);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** `virsh list --all --uuid --name`: "UUID NAME" per line, blank lines ignored. */
export function parseVirshList(out: string): DomainInfo[] {
  const result: DomainInfo[] = [];
  for (const raw of out.split('\n')) {
    const line = raw.trim();
    if (!line) continue;
    const [uuid, name, ...rest] = line.split(/\s+/);
    if (!UUID.test(uuid) || !name || rest.length) throw new ParseError('virsh list', `unexpected line ${JSON.stringify(line)}`, out);
    result.push({ uuid: uuid.toLowerCase(), name });
  }
  return result;
}

/**
 * `virsh list --all`: the " Id   Name   State" table (a header, a dashed rule, one row per domain).
 * Names with spaces are not ours and are skipped; every other row must parse.
 */
export function parseVirshListTable(out: string): { name: string; state: DomainState }[] {
  const lines = out.split('\n').map((l) => l.replace(/\s+$/, ''));
  const header = lines.findIndex((l) => /^\s*Id\s+Name\s+State\s*$/.test(l));
  if (header < 0) throw new ParseError('virsh list', 'no "Id Name State" header', out);
  const result: { name: string; state: DomainState }[] = [];
  for (const line of lines.slice(header + 1)) {
    if (!line.trim() || /^-+$/.test(line.trim())) continue;
    const m = /^\s*(\d+|-)\s+(\S+)\s+(.+)$/.exec(line);
    if (!m) throw new ParseError('virsh list', `unexpected line ${JSON.stringify(line)}`, out);
    const state = DOMSTATES[m[3].trim()];
    if (!state) continue; // a name with spaces: the "state" column is not a state; such domains are not the platform's
    result.push({ name: m[2], state });
  }
  return result;
}

/** `nproc`. */
export function parseNproc(out: string): number {
  const n = positiveInt('nproc', out.trim(), out);
  if (n < 1) throw new ParseError('nproc', 'zero CPUs', out);
  return n;
}

/** `uname -m`. */
export function parseUnameMachine(out: string): string {
  const a = out.trim();
  if (!/^[a-z0-9_]{2,32}$/.test(a)) throw new ParseError('uname -m', 'not a machine name', out);
  return a;
}

/** `grep -m1 '^model name' /proc/cpuinfo`. */
export function parseCpuModelName(out: string): string {
  const m = /^model name\s*:\s*(.+?)\s*$/m.exec(out);
  if (!m) throw new ParseError('/proc/cpuinfo', 'no "model name" line', out);
  return m[1].replace(/\s+/g, ' ').slice(0, 200);
}

/** `df -B1 --output=size,avail PATH`: a header and one line of two byte counts. */
export function parseDf(out: string): { sizeBytes: number; availBytes: number } {
  const lines = out.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length !== 2 || !/^1B-blocks\s+Avail$/.test(lines[0])) throw new ParseError('df', 'expected the "1B-blocks Avail" header and one line', out);
  const [size, avail] = lines[1].split(/\s+/);
  return { sizeBytes: positiveInt('df size', size, out), availBytes: positiveInt('df avail', avail, out) };
}

/** `sha256sum -- PATH`. */
export function parseSha256sum(out: string): string {
  const m = /^\\?([a-f0-9]{64})\s/.exec(out.trim() + ' ');
  if (!m) throw new ParseError('sha256sum', 'no checksum', out);
  return m[1];
}

export interface QemuImgInfo {
  format: string;
  virtualSizeBytes: number;
  actualSizeBytes?: number;
  backingFile?: string;
  backingFormat?: string;
}

/** `qemu-img info --output=json PATH`. */
export function parseQemuImgInfo(out: string): QemuImgInfo {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(out);
  } catch {
    throw new ParseError('qemu-img info', 'not JSON', out);
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw new ParseError('qemu-img info', 'not a JSON object', out);
  const format = j['format'];
  const vsize = j['virtual-size'];
  if (typeof format !== 'string' || !format) throw new ParseError('qemu-img info', 'no "format"', out);
  if (typeof vsize !== 'number' || !Number.isSafeInteger(vsize) || vsize < 0) throw new ParseError('qemu-img info', 'no valid "virtual-size"', out);
  const actual = j['actual-size'];
  return {
    format,
    virtualSizeBytes: vsize,
    actualSizeBytes: typeof actual === 'number' ? actual : undefined,
    backingFile: typeof j['backing-filename'] === 'string' ? (j['backing-filename'] as string) : undefined,
    backingFormat: typeof j['backing-filename-format'] === 'string' ? (j['backing-filename-format'] as string) : undefined,
  };
}

/** `stat -c %s`. */
export function parseFileSize(out: string): number {
  return positiveInt('stat size', out.trim(), out);
}
