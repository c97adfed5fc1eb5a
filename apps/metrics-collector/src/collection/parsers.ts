/**
 * Parsers for the probe's output (probe-script.ts). Strict: anything that does not look exactly like what Linux and
 * libvirt print is a ProbeParseError for that host and round — never a guess, never a 0.
 */
import { PROBE_VERSION } from './probe-script';

export class ProbeParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProbeParseError';
  }
}

/** Jiffies of the aggregate `cpu` line. */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
}

export interface LoadAvg {
  load1: number;
  load5: number;
  load15: number;
}

export interface MemInfo {
  totalKiB: number;
  availableKiB: number;
}

export interface DiskUsage {
  totalBytes: number;
  usedBytes: number;
}

export interface NetCounters {
  rxBytes: number;
  txBytes: number;
}

/** One libvirt domain's raw counters (`virsh domstats --raw`). Absent = libvirt did not report it. */
export interface DomainStats {
  domain: string;
  /** libvirt's virDomainState number. */
  stateCode: number;
  cpuTimeNs?: number;
  vcpus?: number;
  balloonCurrentKiB?: number;
  balloonMaximumKiB?: number;
  balloonRssKiB?: number;
  balloonUsableKiB?: number;
  blockReadBytes?: number;
  blockWriteBytes?: number;
  netRxBytes?: number;
  netTxBytes?: number;
}

/** Everything one round read. A section that could not be read is absent (with the reason in `problems`). */
export interface ProbeResult {
  uptimeSeconds: number;
  cpu: CpuTimes;
  load: LoadAvg;
  memory: MemInfo;
  disk?: DiskUsage;
  net: NetCounters;
  domains?: DomainStats[];
  /** Sections the host could not answer (e.g. libvirtd down): the round still counts, those fields are absent. */
  problems: string[];
}

const INT = /^\d+$/;

function int(s: string | undefined, what: string): number {
  if (s === undefined || !INT.test(s)) throw new ProbeParseError(`${what}: expected an unsigned integer, got ${JSON.stringify(s)}`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new ProbeParseError(`${what}: ${s} is out of range`);
  return n;
}

function num(s: string | undefined, what: string): number {
  if (s === undefined || !/^\d+(?:\.\d+)?$/.test(s)) throw new ProbeParseError(`${what}: expected a number, got ${JSON.stringify(s)}`);
  return Number(s);
}

/** Splits `==name==` sections; the first line must be the probe header, the last `==end==`. */
export function splitSections(output: string): Map<string, string[]> {
  const lines = output.replace(/\r\n/g, '\n').split('\n');
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  if (lines[0] !== `==minicloud-probe v${PROBE_VERSION}==`) {
    throw new ProbeParseError(`not a probe answer (first line ${JSON.stringify((lines[0] ?? '').slice(0, 80))})`);
  }
  if (lines[lines.length - 1] !== '==end==') throw new ProbeParseError('probe answer is truncated (no ==end== marker)');
  const sections = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of lines.slice(1, -1)) {
    const m = /^==([a-z]+)==$/.exec(line);
    if (m) {
      if (sections.has(m[1])) throw new ProbeParseError(`section ${m[1]} appears twice`);
      current = [];
      sections.set(m[1], current);
    } else if (current) {
      current.push(line);
    } else {
      throw new ProbeParseError(`text before the first section: ${JSON.stringify(line.slice(0, 80))}`);
    }
  }
  return sections;
}

function section(sections: Map<string, string[]>, name: string): string[] {
  const s = sections.get(name);
  if (!s) throw new ProbeParseError(`section ${name} is missing`);
  return s;
}

/** `/proc/uptime`: "2187.98 3410.68" → seconds since boot. */
export function parseUptime(lines: string[]): number {
  if (lines.length !== 1) throw new ProbeParseError(`uptime: expected 1 line, got ${lines.length}`);
  const parts = lines[0].trim().split(/\s+/);
  if (parts.length !== 2) throw new ProbeParseError(`uptime: expected 2 fields, got ${JSON.stringify(lines[0])}`);
  return num(parts[0], 'uptime');
}

/** The `cpu ` line of /proc/stat (at least user..softirq; steal when the kernel prints it). */
export function parseCpuLine(lines: string[]): CpuTimes {
  if (lines.length !== 1) throw new ProbeParseError(`stat: expected the cpu line only, got ${lines.length} lines`);
  const parts = lines[0].trim().split(/\s+/);
  if (parts[0] !== 'cpu' || parts.length < 8 || parts.length > 11) throw new ProbeParseError(`stat: not an aggregate cpu line: ${JSON.stringify(lines[0].slice(0, 120))}`);
  const f = parts.slice(1).map((p, i) => int(p, `stat field ${i + 1}`));
  return { user: f[0], nice: f[1], system: f[2], idle: f[3], iowait: f[4], irq: f[5], softirq: f[6], steal: f[7] ?? 0 };
}

/** `/proc/loadavg`: "3.33 1.83 1.01 7/258 16413". */
export function parseLoadAvg(lines: string[]): LoadAvg {
  if (lines.length !== 1) throw new ProbeParseError(`loadavg: expected 1 line, got ${lines.length}`);
  const p = lines[0].trim().split(/\s+/);
  if (p.length !== 5 || !/^\d+\/\d+$/.test(p[3]) || !INT.test(p[4])) throw new ProbeParseError(`loadavg: unexpected ${JSON.stringify(lines[0].slice(0, 80))}`);
  return { load1: num(p[0], 'load1'), load5: num(p[1], 'load5'), load15: num(p[2], 'load15') };
}

/** MemTotal and MemAvailable lines of /proc/meminfo (kB). */
export function parseMemInfo(lines: string[]): MemInfo {
  const got = new Map<string, number>();
  for (const line of lines) {
    const m = /^(MemTotal|MemAvailable):\s+(\d+) kB$/.exec(line);
    if (!m) throw new ProbeParseError(`meminfo: unexpected line ${JSON.stringify(line.slice(0, 80))}`);
    got.set(m[1], int(m[2], m[1]));
  }
  const totalKiB = got.get('MemTotal');
  const availableKiB = got.get('MemAvailable');
  if (totalKiB === undefined || availableKiB === undefined) throw new ProbeParseError('meminfo: MemTotal or MemAvailable missing');
  if (totalKiB === 0 || availableKiB > totalKiB) throw new ProbeParseError(`meminfo: implausible total ${totalKiB} / available ${availableKiB}`);
  return { totalKiB, availableKiB };
}

/**
 * `df -P -B1 <dir>` followed by its exit marker. A failed df (store missing) is not garbage: undefined with
 * the reason; a df that "succeeded" with unreadable output is.
 */
export function parseDf(lines: string[]): { usage?: DiskUsage; problem?: string } {
  const last = lines[lines.length - 1] ?? '';
  const exit = /^==df-exit (\d+)==$/.exec(last);
  if (!exit) throw new ProbeParseError('df: exit marker missing');
  const body = lines.slice(0, -1);
  if (exit[1] !== '0') return { problem: `df of the image store failed: ${body.join(' ').slice(0, 300) || `exit ${exit[1]}`}` };
  if (body.length !== 2 || !/^Filesystem\s+1-blocks\s+Used\s+Available\s+Capacity\s+Mounted on$/.test(body[0])) {
    throw new ProbeParseError(`df: unexpected output ${JSON.stringify(body.join('|').slice(0, 160))}`);
  }
  // The device name may contain spaces in theory; the five fields after it are fixed.
  const m = /^(.+?)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)%\s+(\/.*)$/.exec(body[1]);
  if (!m) throw new ProbeParseError(`df: unexpected line ${JSON.stringify(body[1].slice(0, 160))}`);
  const totalBytes = int(m[2], 'df total');
  const usedBytes = int(m[3], 'df used');
  if (usedBytes > totalBytes) throw new ProbeParseError(`df: used ${usedBytes} > total ${totalBytes}`);
  return { usage: { totalBytes, usedBytes } };
}

/** Interfaces that are not the host's own traffic: loopback, VM taps, bridges (their bytes are VMs' or counted twice). */
export const NON_HOST_INTERFACE = /^(lo|vnet\d+|tap.*|macvtap.*|virbr.*|br.*|docker.*|veth.*)$/;

/** `/proc/net/dev`, summed over the host's own interfaces. */
export function parseNetDev(lines: string[]): NetCounters {
  if (lines.length < 2 || !/^Inter-\|/.test(lines[0]) || !/^\s*face \|bytes/.test(lines[1])) throw new ProbeParseError('netdev: header missing');
  let rxBytes = 0;
  let txBytes = 0;
  for (const line of lines.slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m) throw new ProbeParseError(`netdev: unexpected line ${JSON.stringify(line.slice(0, 120))}`);
    const f = m[2].trim().split(/\s+/);
    if (f.length !== 16) throw new ProbeParseError(`netdev: ${m[1]} has ${f.length} counters, expected 16`);
    const rx = int(f[0], `netdev ${m[1]} rx`);
    const tx = int(f[8], `netdev ${m[1]} tx`);
    if (NON_HOST_INTERFACE.test(m[1])) continue;
    rxBytes += rx;
    txBytes += tx;
  }
  return { rxBytes, txBytes };
}

const DOMSTAT_LINE = /^ {2}([A-Za-z][A-Za-z0-9_.-]*)=(.*)$/;

/**
 * `virsh domstats --raw` followed by its exit marker. Blocks of "Domain: 'name'" and indented key=value lines,
 * separated by blank lines. A failed virsh (libvirtd down) → undefined with the reason.
 */
export function parseDomStats(lines: string[]): { domains?: DomainStats[]; problem?: string } {
  const last = lines[lines.length - 1] ?? '';
  const exit = /^==domstats-exit (\d+)==$/.exec(last);
  if (!exit) throw new ProbeParseError('domstats: exit marker missing');
  const body = lines.slice(0, -1);
  if (exit[1] !== '0') return { problem: `virsh domstats failed: ${body.join(' ').trim().slice(0, 300) || `exit ${exit[1]}`}` };
  const blocks: { name: string; kv: Map<string, string> }[] = [];
  let cur: { name: string; kv: Map<string, string> } | null = null;
  for (const line of body) {
    if (line === '') {
      cur = null;
      continue;
    }
    const d = /^Domain: '(.+)'$/.exec(line);
    if (d) {
      cur = { name: d[1], kv: new Map() };
      blocks.push(cur);
      continue;
    }
    const kv = DOMSTAT_LINE.exec(line);
    if (!kv || !cur) throw new ProbeParseError(`domstats: unexpected line ${JSON.stringify(line.slice(0, 120))}`);
    cur.kv.set(kv[1], kv[2]);
  }
  return { domains: blocks.map((b) => domainFrom(b.name, b.kv)) };
}

function domainFrom(name: string, kv: Map<string, string>): DomainStats {
  const what = `domstats ${name}`;
  const opt = (k: string) => (kv.has(k) ? int(kv.get(k), `${what} ${k}`) : undefined);
  const stateCode = opt('state.state');
  if (stateCode === undefined) throw new ProbeParseError(`${what}: state.state missing`);
  const d: DomainStats = { domain: name, stateCode };
  const set = <K extends keyof DomainStats>(k: K, v: DomainStats[K] | undefined) => {
    if (v !== undefined) d[k] = v;
  };
  set('cpuTimeNs', opt('cpu.time'));
  set('vcpus', opt('vcpu.current'));
  set('balloonCurrentKiB', opt('balloon.current'));
  set('balloonMaximumKiB', opt('balloon.maximum'));
  set('balloonRssKiB', opt('balloon.rss'));
  set('balloonUsableKiB', opt('balloon.usable'));
  const blocks = opt('block.count');
  if (blocks !== undefined) {
    let rd = 0;
    let wr = 0;
    let complete = true;
    for (let i = 0; i < blocks; i++) {
      const r = opt(`block.${i}.rd.bytes`);
      const w = opt(`block.${i}.wr.bytes`);
      if (r === undefined || w === undefined) complete = false;
      else {
        rd += r;
        wr += w;
      }
    }
    // A stopped domain lists its disks without I/O counters: then there is nothing to report.
    if (complete) {
      d.blockReadBytes = rd;
      d.blockWriteBytes = wr;
    }
  }
  const nets = opt('net.count');
  if (nets !== undefined) {
    let rx = 0;
    let tx = 0;
    let complete = true;
    for (let i = 0; i < nets; i++) {
      const r = opt(`net.${i}.rx.bytes`);
      const t = opt(`net.${i}.tx.bytes`);
      if (r === undefined || t === undefined) complete = false;
      else {
        rx += r;
        tx += t;
      }
    }
    if (complete) {
      d.netRxBytes = rx;
      d.netTxBytes = tx;
    }
  }
  return d;
}

/** libvirt's virDomainState names. */
export const DOMAIN_STATES: Record<number, string> = {
  0: 'nostate',
  1: 'running',
  2: 'blocked',
  3: 'paused',
  4: 'shutdown',
  5: 'shutoff',
  6: 'crashed',
  7: 'pmsuspended',
};

export function domainStateName(code: number): string {
  return DOMAIN_STATES[code] ?? 'unknown';
}

/** Parses a whole probe answer. Throws ProbeParseError on anything garbled. */
export function parseProbe(output: string): ProbeResult {
  const s = splitSections(output);
  const problems: string[] = [];
  const df = parseDf(section(s, 'df'));
  if (df.problem) problems.push(df.problem);
  const dom = parseDomStats(section(s, 'domstats'));
  if (dom.problem) problems.push(dom.problem);
  const r: ProbeResult = {
    uptimeSeconds: parseUptime(section(s, 'uptime')),
    cpu: parseCpuLine(section(s, 'stat')),
    load: parseLoadAvg(section(s, 'loadavg')),
    memory: parseMemInfo(section(s, 'meminfo')),
    net: parseNetDev(section(s, 'netdev')),
    problems,
  };
  if (df.usage) r.disk = df.usage;
  if (dom.domains) r.domains = dom.domains;
  return r;
}
