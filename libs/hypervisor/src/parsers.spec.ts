import { readFileSync } from 'fs';
import { join } from 'path';
import { ParseError } from './errors';
import {
  isNoSuchDomain,
  parseVirshListTable,
  parseCpuModelName,
  parseDf,
  parseDomstate,
  parseNodeinfo,
  parseNproc,
  parseQemuImgInfo,
  parseSha256sum,
  parseUnameMachine,
  parseVirshList,
  parseVirshVersion,
} from './parsers';

const fx = (name: string) => readFileSync(join(__dirname, '__fixtures__', name), 'utf8');

describe('parsers (real captured outputs)', () => {
  it('lab host outputs (libvirt 9.0 / QEMU 7.2 over ssh)', () => {
    expect(parseVirshVersion(fx('lab-h1.virsh-version.txt'))).toEqual({ libvirtVersion: '9.0.0', hypervisorVersion: 'QEMU 7.2.22' });
    expect(parseNodeinfo(fx('lab-h1.virsh-nodeinfo.txt'))).toMatchObject({ cpuModel: 'x86_64', cpus: 2, memoryKiB: 6252320 });
    expect(parseVirshList(fx('lab-h1.virsh-list.txt'))).toEqual([
      { uuid: 'a0b99e35-bd8e-41b9-9e32-ac18ffaed146', name: 'mc-a0b99e35-bd8e-41b9-9e32-ac18ffaed146' },
    ]);
    expect(parseDomstate(fx('lab-h1.virsh-domstate.txt'))).toBe('running');
    expect(parseDf(fx('lab-h1.df.txt'))).toEqual({ sizeBytes: 270553174016, availBytes: 84115673088 });
    expect(parseCpuModelName(fx('lab-h1.cpuinfo-model.txt'))).toBe('Intel(R) Xeon(R) Processor');
  });

  it('virsh version', () => {
    expect(parseVirshVersion(fx('virsh-version.test-driver.txt'))).toEqual({ libvirtVersion: '9.0.0', hypervisorVersion: 'TEST 0.0.2' });
    const qemu = 'Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\nRunning hypervisor: QEMU 7.2.0\n\n';
    expect(parseVirshVersion(qemu)).toEqual({ libvirtVersion: '9.0.0', hypervisorVersion: 'QEMU 7.2.0' });
    expect(() => parseVirshVersion('Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\n')).toThrow(/Running hypervisor/);
    expect(() => parseVirshVersion('')).toThrow(ParseError);
  });

  it('virsh nodeinfo', () => {
    expect(parseNodeinfo(fx('virsh-nodeinfo.test-driver.txt'))).toEqual({
      cpuModel: 'i686',
      cpus: 16,
      memoryKiB: 3145728,
      sockets: 2,
      coresPerSocket: 2,
      threadsPerCore: 2,
    });
    expect(() => parseNodeinfo('CPU model: x86_64\nCPU(s): 2\n')).toThrow(/Memory size/);
    expect(() => parseNodeinfo('CPU model: x86_64\nCPU(s): two\nMemory size: 1 KiB')).toThrow(/whole number/);
  });

  it('virsh list --all --uuid --name', () => {
    expect(parseVirshList(fx('virsh-list.test-driver.txt'))).toEqual([{ uuid: '6695eb01-f6a4-8304-79aa-97f2502e193f', name: 'test' }]);
    expect(parseVirshList('\n')).toEqual([]);
    expect(() => parseVirshList(' Id   Name   State\n----\n 1  test running\n')).toThrow(/unexpected line/);
  });

  it('virsh domstate', () => {
    expect(parseDomstate('running\n\n')).toBe('running');
    expect(parseDomstate('shut off\n\n')).toBe('shutoff');
    expect(parseDomstate('in shutdown\n')).toBe('shutdown');
    expect(parseDomstate('paused (user)\n')).toBe('paused');
    expect(() => parseDomstate('')).toThrow(ParseError);
    expect(() => parseDomstate('flying\n')).toThrow(/unknown state "flying"/);
    expect(isNoSuchDomain("error: failed to get domain 'nope'\n")).toBe(true);
    expect(isNoSuchDomain('error: Requested operation is not valid: domain is not running')).toBe(false);
  });

  it('df, nproc, uname, cpuinfo, sha256sum', () => {
    const df = parseDf(fx('df.txt'));
    expect(df.sizeBytes).toBeGreaterThan(df.availBytes);
    expect(() => parseDf('Filesystem 1K-blocks Used\n/dev/x 1 2\n')).toThrow(/header/);
    expect(() => parseDf('   1B-blocks       Avail\n  -  -\n')).toThrow(ParseError);
    expect(parseNproc('2\n')).toBe(2);
    expect(() => parseNproc('')).toThrow(ParseError);
    expect(() => parseNproc('0\n')).toThrow(/zero/);
    expect(parseUnameMachine('x86_64\n')).toBe('x86_64');
    expect(() => parseUnameMachine('x86 64; rm')).toThrow(ParseError);
    expect(parseCpuModelName(fx('cpuinfo-model.txt'))).toMatch(/\S/);
    expect(parseCpuModelName('model name\t: Intel(R)  Xeon(R) Processor\n')).toBe('Intel(R) Xeon(R) Processor');
    expect(() => parseCpuModelName('processor : 0\n')).toThrow(/model name/);
    expect(parseSha256sum(fx('sha256sum.txt'))).toBe('5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03');
    expect(() => parseSha256sum('sha256sum: /x: No such file or directory\n')).toThrow(ParseError);
  });

  it('qemu-img info --output=json', () => {
    expect(parseQemuImgInfo(fx('qemu-img-info.qcow2.json'))).toMatchObject({ format: 'qcow2', virtualSizeBytes: 64 * 1024 * 1024, backingFile: undefined });
    expect(parseQemuImgInfo(fx('qemu-img-info.raw.json'))).toMatchObject({ format: 'raw', virtualSizeBytes: 10 * 1024 * 1024 });
    const over = parseQemuImgInfo(fx('qemu-img-info.overlay.json'));
    expect(over.backingFile).toMatch(/base\.qcow2$/);
    expect(over.backingFormat).toBe('qcow2');
    expect(() => parseQemuImgInfo('qemu-img: Could not open')).toThrow(/not JSON/);
    expect(() => parseQemuImgInfo('{"format":"qcow2"}')).toThrow(/virtual-size/);
    expect(() => parseQemuImgInfo('[]')).toThrow(/object/);
  });
});

describe('parseVirshListTable', () => {
  it('reads names and states, skipping names with spaces, refusing garbage', () => {
    const out = ' Id   Name          State\n-----------------------------\n 1    mc-a          running\n 2    b             paused\n -    c             shut off\n -    my vm         shut off\n\n';
    expect(parseVirshListTable(out)).toEqual([
      { name: 'mc-a', state: 'running' },
      { name: 'b', state: 'paused' },
      { name: 'c', state: 'shutoff' },
    ]);
    expect(parseVirshListTable(' Id   Name   State\n----\n\n')).toEqual([]);
    expect(() => parseVirshListTable('error: failed to connect')).toThrow(/header/);
  });
});
