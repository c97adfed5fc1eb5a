import { createHash } from 'crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { HypervisorError, ImageVerificationError, NotAHypervisorHostError } from './errors';
import { LibvirtDriver } from './libvirt-driver';
import type { ExecResult, Executor, VmSpec } from './types';

const fx = (name: string) => readFileSync(join(__dirname, '__fixtures__', name), 'utf8');
const VM = '0b5d9a4e-3f7e-4c5b-9f0e-1a2b3c4d5e6f';
const ok = (stdout = ''): ExecResult => ({ stdout, stderr: '', code: 0 });
const fail = (stderr: string, code = 1): ExecResult => ({ stdout: '', stderr, code });

/** A scripted host: the first matching rule answers; every argv is recorded; uploads land in `files`. */
class FakeHost implements Executor {
  calls: string[][] = [];
  stdins: (string | Buffer | undefined)[] = [];
  uploads: [string, string][] = [];
  files = new Map<string, Buffer>();
  rules: [RegExp, (argv: string[]) => ExecResult][] = [];
  on(re: RegExp, r: ExecResult | ((argv: string[]) => ExecResult)) {
    this.rules.push([re, typeof r === 'function' ? r : () => r]);
    return this;
  }
  async exec(argv: string[], opts?: { stdin?: string | Buffer }) {
    this.calls.push(argv);
    this.stdins.push(opts?.stdin);
    const line = argv.join(' ');
    for (const [re, f] of this.rules) if (re.test(line)) return f(argv);
    if (argv[0] === 'sha256sum') {
      const f = this.files.get(argv[2]);
      return f ? ok(`${createHash('sha256').update(f).digest('hex')}  ${argv[2]}\n`) : fail(`sha256sum: ${argv[2]}: No such file or directory`);
    }
    if (argv[0] === 'stat') {
      const f = this.files.get(argv[4]);
      return f ? ok(`${f.length}\n`) : fail('stat: cannot statx: No such file or directory');
    }
    return ok();
  }
  async upload(local: string, remote: string) {
    this.uploads.push([local, remote]);
    this.files.set(remote, readFileSync(local));
  }
  lines() {
    return this.calls.map((c) => c.join(' '));
  }
}

const GiB = 1024 ** 3;
/** A host without the domain yet, whose qemu-img reports the overlay at `size` bytes. */
const blankHost = (size = 2 * GiB) =>
  new FakeHost()
    .on(/domstate/, fail(`error: failed to get domain 'mc-${VM}'`))
    .on(/^qemu-img info/, ok(JSON.stringify({ format: 'qcow2', 'virtual-size': size, 'backing-filename': '/var/lib/minicloud/images/t.qcow2' })));

const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function localImage(content: string) {
  const dir = mkdtempSync(join(tmpdir(), 'mc-img-'));
  tempDirs.push(dir);
  const p = join(dir, 'img.qcow2');
  writeFileSync(p, content);
  return { localPath: p, checksum: createHash('sha256').update(content).digest('hex') };
}

const spec = (): VmSpec => ({
  vmId: VM,
  name: 'web-1',
  vcpus: 1,
  memoryMiB: 256,
  diskGiB: 2,
  image: { format: 'qcow2', virtualSizeBytes: 64 << 20, paths: { disk: '/var/lib/minicloud/images/t.qcow2' } },
});

describe('LibvirtDriver', () => {
  it('discovers host facts from real command outputs', async () => {
    const h = new FakeHost()
      .on(/virsh .* version/, ok('Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\nRunning hypervisor: QEMU 7.2.0\n'))
      .on(/virsh .* nodeinfo/, ok(fx('virsh-nodeinfo.test-driver.txt')))
      .on(/^nproc/, ok('2\n'))
      .on(/^uname -m/, ok('x86_64\n'))
      .on(/^grep/, ok(fx('cpuinfo-model.txt')))
      .on(/^df/, ok(fx('lab-h1.df.txt')))
      .on(/^test -e \/var\/lib\/minicloud\/shared\/\.minicloud-datastore$/, fail('', 1));
    const facts = await new LibvirtDriver(h).discover();
    expect(facts).toEqual({
      cpus: 2,
      cpuModel: fx('cpuinfo-model.txt').split(':')[1].trim().replace(/\s+/g, ' '),
      memoryMiB: 3072,
      diskGiB: 251,
      arch: 'x86_64',
      hypervisorVersion: 'QEMU 7.2.0',
      libvirtVersion: '9.0.0',
      sharedStorage: false,
    });
    expect(h.lines()).toContain('mkdir -p -- /var/lib/minicloud /var/lib/minicloud/images /var/lib/minicloud/vms');
  });

  it('reports the shared datastore when its marker file is on the host', async () => {
    const h = new FakeHost()
      .on(/virsh .* version/, ok('Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\nRunning hypervisor: QEMU 7.2.0\n'))
      .on(/virsh .* nodeinfo/, ok(fx('virsh-nodeinfo.test-driver.txt')))
      .on(/^nproc/, ok('2\n'))
      .on(/^uname -m/, ok('x86_64\n'))
      .on(/^grep/, ok(fx('cpuinfo-model.txt')))
      .on(/^df/, ok(fx('lab-h1.df.txt')))
      .on(/^test -e \/var\/lib\/minicloud\/shared\/\.minicloud-datastore$/, ok());
    expect((await new LibvirtDriver(h).discover()).sharedStorage).toBe(true);
    const broken = new FakeHost()
      .on(/virsh .* version/, ok('Using library: libvirt 9.0.0\nRunning hypervisor: QEMU 7.2.0\n'))
      .on(/virsh .* nodeinfo/, ok(fx('virsh-nodeinfo.test-driver.txt')))
      .on(/^nproc/, ok('2\n'))
      .on(/^uname -m/, ok('x86_64\n'))
      .on(/^grep/, ok(fx('cpuinfo-model.txt')))
      .on(/^df/, ok(fx('lab-h1.df.txt')))
      .on(/^test -e/, fail('test: Permission denied', 2));
    await expect(new LibvirtDriver(broken).discover()).rejects.toThrow(/Permission denied/);
  });

  it('says "not a libvirt host" with libvirt\'s reason (stderr captured from a lab host without libvirtd)', async () => {
    const h = new FakeHost().on(/virsh/, fail(fx('lab-h1.virsh-version.no-libvirtd.stderr.txt')));
    const err = await new LibvirtDriver(h).discover().catch((e) => e);
    expect(err).toBeInstanceOf(NotAHypervisorHostError);
    expect(err.message).toMatch(/^not a libvirt host: .*failed to connect to the hypervisor: Failed to connect socket/);
    const h2 = new FakeHost().on(/virsh/, fail('bash: virsh: command not found', 127));
    await expect(new LibvirtDriver(h2).discover()).rejects.toThrow(/not a libvirt host: .*command not found/);
  });

  it('uploads an image once, verifies it on the host, and reuses it afterwards', async () => {
    const img = localImage('template bytes');
    const h = new FakeHost();
    const d = new LibvirtDriver(h);
    const first = await d.ensureImage({ disk: { ...img, format: 'qcow2', virtualSizeBytes: 1 } });
    expect(first.paths.disk).toBe(`/var/lib/minicloud/images/${img.checksum}.qcow2`);
    expect(first.uploaded).toEqual([first.paths.disk]);
    const again = await d.ensureImage({ disk: { ...img, format: 'qcow2', virtualSizeBytes: 1 } });
    expect(again.uploaded).toEqual([]);
    const trusted = await d.ensureImage({ disk: { ...img, format: 'qcow2', virtualSizeBytes: 1 } }, { trusted: true });
    expect(trusted.uploaded).toEqual([]);
    expect(h.uploads).toHaveLength(1);
    expect(h.lines().at(-1)).toMatch(/^stat -c %s -- /); // trusted: a size check, no full checksum
  });

  it('replaces a corrupt cached copy and refuses an upload whose checksum does not match', async () => {
    const img = localImage('good');
    const h = new FakeHost();
    h.files.set(`/var/lib/minicloud/images/${img.checksum}.qcow2`, Buffer.from('corrupt'));
    const r = await new LibvirtDriver(h).ensureImage({ disk: { ...img, format: 'qcow2', virtualSizeBytes: 1 } });
    expect(r.uploaded).toHaveLength(1);
    expect(h.lines()).toContain(`rm -f -- /var/lib/minicloud/images/${img.checksum}.qcow2`);

    const bad = new FakeHost();
    bad.upload = async (_l, remote) => void bad.files.set(remote, Buffer.from('bits flipped in transit'));
    const err = await new LibvirtDriver(bad).ensureImage({ disk: { ...img, format: 'qcow2', virtualSizeBytes: 1 } }).catch((e) => e);
    expect(err).toBeInstanceOf(ImageVerificationError);
    expect(bad.lines().at(-1)).toBe(`rm -f -- /var/lib/minicloud/images/${img.checksum}.qcow2`);
  });

  it('creates a VM: linked clone grown to the requested size (verified), XML written, defined and started', async () => {
    const h = blankHost();
    const r = await new LibvirtDriver(h).createVm(spec());
    expect(r).toEqual({ domainName: `mc-${VM}`, vmDir: `/var/lib/minicloud/vms/${VM}`, diskPath: `/var/lib/minicloud/vms/${VM}/disk.qcow2` });
    expect(h.lines()).toEqual([
      `virsh -c qemu:///system domstate mc-${VM}`,
      `mkdir -p -- /var/lib/minicloud/vms/${VM}`,
      `qemu-img create -f qcow2 -F qcow2 -b /var/lib/minicloud/images/t.qcow2 /var/lib/minicloud/vms/${VM}/disk.qcow2 ${2 * 1024 ** 3}`,
      `qemu-img info --output=json /var/lib/minicloud/vms/${VM}/disk.qcow2`,
      `cp /dev/stdin /var/lib/minicloud/vms/${VM}/domain.xml`,
      `virsh -c qemu:///system define /var/lib/minicloud/vms/${VM}/domain.xml`,
      `virsh -c qemu:///system start mc-${VM}`,
    ]);
    expect(String(h.stdins[4])).toContain(`<uuid>${VM}</uuid>`);
    expect(String(h.stdins[4])).not.toContain('seed.iso');
    expect(h.uploads).toEqual([]);
  });

  it('creates a shared-storage VM: the disk on the shared datastore, console log and seed in the host-local directory', async () => {
    const seed = localImage('an iso');
    const h = blankHost();
    const r = await new LibvirtDriver(h).createVm({ ...spec(), storage: 'shared', seedIsoLocalPath: seed.localPath });
    const disk = `/var/lib/minicloud/shared/vms/${VM}/disk.qcow2`;
    expect(r.diskPath).toBe(disk);
    expect(h.lines()).toContain(`mkdir -p -- /var/lib/minicloud/shared/vms/${VM}`);
    expect(h.lines()).toContain(`qemu-img create -f qcow2 -F qcow2 -b /var/lib/minicloud/images/t.qcow2 ${disk} ${2 * GiB}`);
    expect(h.uploads).toEqual([[seed.localPath, `/var/lib/minicloud/vms/${VM}/seed.iso`]]);
    const xml = String(h.stdins[h.lines().findIndex((l) => l.startsWith('cp /dev/stdin'))]);
    expect(xml).toContain(`<source file='${disk}'/>`);
    expect(xml).toContain(`/var/lib/minicloud/vms/${VM}/console.log`);
    expect(xml).not.toContain(`/var/lib/minicloud/vms/${VM}/disk.qcow2`);

    const broken = blankHost().on(/ define /, fail('error: XML error'));
    await expect(new LibvirtDriver(broken).createVm({ ...spec(), storage: 'shared' })).rejects.toThrow(/XML error/);
    expect(broken.lines().slice(-2)).toEqual([`rm -rf -- /var/lib/minicloud/vms/${VM}`, `rm -rf -- /var/lib/minicloud/shared/vms/${VM}`]);
  });

  it('removes a shared disk only when told to (deleting the VM), never when cleaning up one host', async () => {
    const h = new FakeHost().on(/destroy|undefine/, fail(`error: failed to get domain 'mc-${VM}'`));
    await new LibvirtDriver(h).deleteVm(VM);
    expect(h.lines().filter((l) => l.startsWith('rm'))).toEqual([`rm -rf -- /var/lib/minicloud/vms/${VM}`]);
    const h2 = new FakeHost().on(/destroy|undefine/, fail(`error: failed to get domain 'mc-${VM}'`));
    await new LibvirtDriver(h2).deleteVm(VM, { removeSharedDisk: true });
    expect(h2.lines().filter((l) => l.startsWith('rm'))).toEqual([`rm -rf -- /var/lib/minicloud/vms/${VM}`, `rm -rf -- /var/lib/minicloud/shared/vms/${VM}`]);
  });

  it('uploads the seed ISO into the VM directory and attaches it; rolls it back with the directory on failure', async () => {
    const seed = localImage('an iso');
    const h = blankHost();
    await new LibvirtDriver(h).createVm({ ...spec(), seedIsoLocalPath: seed.localPath });
    expect(h.uploads).toEqual([[seed.localPath, `/var/lib/minicloud/vms/${VM}/seed.iso`]]);
    const xml = String(h.stdins[h.lines().findIndex((l) => l.startsWith('cp /dev/stdin'))]);
    expect(xml).toContain(`<source file='/var/lib/minicloud/vms/${VM}/seed.iso'/>`);

    const broken = blankHost().on(/ define /, fail('error: XML error'));
    await expect(new LibvirtDriver(broken).createVm({ ...spec(), seedIsoLocalPath: seed.localPath })).rejects.toThrow(/XML error/);
    expect(broken.uploads).toHaveLength(1);
    expect(broken.lines().at(-1)).toBe(`rm -rf -- /var/lib/minicloud/vms/${VM}`);
  });

  it('refuses a disk whose virtual size is not the requested one, and removes it', async () => {
    const h = blankHost(GiB);
    await expect(new LibvirtDriver(h).createVm(spec())).rejects.toThrow(/virtual size is 1073741824 bytes, expected 2147483648/);
    expect(h.lines().some((l) => l.includes(' define '))).toBe(false);
    expect(h.lines().at(-1)).toBe(`rm -rf -- /var/lib/minicloud/vms/${VM}`);
  });

  it('rolls back the domain and the directory when start fails, keeping libvirt\'s error text', async () => {
    const h = blankHost()
      .on(/ start /, fail(`error: Failed to start domain 'mc-${VM}'\nerror: Cannot access storage file '/nope': No such file or directory`));
    const err = await new LibvirtDriver(h).createVm(spec()).catch((e) => e);
    expect(err).toBeInstanceOf(HypervisorError);
    expect(err.message).toContain("Failed to start domain");
    expect(err.message).toContain("Cannot access storage file '/nope'");
    expect(h.lines().slice(-3)).toEqual([
      `virsh -c qemu:///system destroy mc-${VM}`,
      `virsh -c qemu:///system undefine mc-${VM}`,
      `rm -rf -- /var/lib/minicloud/vms/${VM}`,
    ]);
  });

  it('rolls back only the directory when the clone fails (nothing was defined)', async () => {
    const h = new FakeHost().on(/domstate/, fail(`error: failed to get domain 'mc-${VM}'`)).on(/^qemu-img/, fail('qemu-img: Could not open backing file'));
    await expect(new LibvirtDriver(h).createVm(spec())).rejects.toThrow(/Could not open backing file/);
    expect(h.lines().some((l) => l.includes('undefine'))).toBe(false);
    expect(h.lines().at(-1)).toBe(`rm -rf -- /var/lib/minicloud/vms/${VM}`);
  });

  it('refuses to create over an existing domain', async () => {
    const h = new FakeHost().on(/domstate/, ok('running\n'));
    await expect(new LibvirtDriver(h).createVm(spec())).rejects.toThrow(/already exists/);
    expect(h.lines().some((l) => l.startsWith('rm'))).toBe(false);
  });

  it('deletes idempotently and reports states', async () => {
    const gone = new FakeHost().on(/destroy|undefine|domstate/, fail(`error: failed to get domain 'mc-${VM}'`));
    const d = new LibvirtDriver(gone);
    await d.deleteVm(VM);
    expect(gone.lines().at(-1)).toBe(`rm -rf -- /var/lib/minicloud/vms/${VM}`);
    expect(await d.domainState(VM)).toBe('absent');
    await d.stopVm(VM);
    const weird = new FakeHost().on(/undefine/, fail('error: internal error: something broke'));
    await expect(new LibvirtDriver(weird).deleteVm(VM)).rejects.toThrow(/something broke/);
  });

  it('suspends, resumes and lists domains with their states', async () => {
    const h = new FakeHost()
      .on(/domstate/, ok('running\n'))
      .on(/list --all --uuid --name/, ok(`${VM} mc-${VM}\n11111111-2222-3333-4444-555555555555 other\n\n`))
      .on(/list --all$/, ok(` Id   Name${' '.repeat(36)}State\n------\n 3    mc-${VM}   running\n -    other   shut off\n\n`));
    const d = new LibvirtDriver(h);
    await d.suspendVm(VM);
    await d.resumeVm(VM); // already running: nothing to do
    expect(h.lines().filter((l) => !l.includes('domstate'))).toEqual([`virsh -c qemu:///system suspend mc-${VM}`]);
    expect(await d.listDomainStates()).toEqual([
      { uuid: VM, name: `mc-${VM}`, state: 'running' },
      { uuid: '11111111-2222-3333-4444-555555555555', name: 'other', state: 'shutoff' },
    ]);
  });

  it('reboots through ACPI when the reboot event comes, and resets a guest that ignores it', async () => {
    const acpi = new FakeHost().on(/ event /, ok(`event 'reboot' for domain 'mc-${VM}'\nevents received: 1\n`));
    expect(await new LibvirtDriver(acpi).rebootVm(VM, { timeoutSec: 5, listenerDelayMs: 10 })).toBe('acpi');
    expect(acpi.lines()).toEqual([
      `virsh -c qemu:///system event --domain mc-${VM} --event reboot --timeout 5`,
      `virsh -c qemu:///system reboot mc-${VM}`,
    ]);
    const deaf = new FakeHost().on(/ event /, ok('events received: 0\n'));
    expect(await new LibvirtDriver(deaf).rebootVm(VM, { timeoutSec: 5, listenerDelayMs: 10 })).toBe('reset');
    expect(deaf.lines().at(-1)).toBe(`virsh -c qemu:///system reset mc-${VM}`);
  });

  it('tails the console log and explains a missing one', async () => {
    const h = new FakeHost().on(/^tail/, ok('MINICLOUD-GUEST BOOTED hostname=web-1\r\nminicloud-counter 1\r\n'));
    expect(await new LibvirtDriver(h).consoleTail(VM, 2)).toEqual(['MINICLOUD-GUEST BOOTED hostname=web-1', 'minicloud-counter 1']);
    expect(h.lines()[0]).toBe(`tail -n 2 -- /var/lib/minicloud/vms/${VM}/console.log`);
    const none = new FakeHost().on(/^tail/, fail("tail: cannot open '/x' for reading: No such file or directory"));
    await expect(new LibvirtDriver(none).consoleTail(VM, 2)).rejects.toThrow(/no console log/);
  });
});

describe('LibvirtDriver: a VM\'s files on a migration target', () => {
  const DISK = `/var/lib/minicloud/vms/${VM}/disk.qcow2`;
  const TEMPLATE = `/var/lib/minicloud/images/${'b'.repeat(64)}.qcow2`;

  it('reads the disk\'s backing file and virtual size with qemu-img info -U (no lock needed while it runs)', async () => {
    const h = new FakeHost().on(/^qemu-img info/, ok(fx('qemu-img-info.overlay.json')));
    const info = await new LibvirtDriver(h).vmDiskInfo(VM);
    expect(info).toMatchObject({ format: 'qcow2', virtualSizeBytes: 1073741824, backingFile: '/tmp/tmp.5zRSd2j4ss/base.qcow2', backingFormat: 'qcow2' });
    expect(h.calls).toContainEqual(['qemu-img', 'info', '--output=json', '-U', DISK]);
    const none = new FakeHost().on(/^test -e/, { stdout: '', stderr: '', code: 1 });
    expect(await new LibvirtDriver(none).vmDiskInfo(VM)).toBeUndefined();
  });

  it('creates the overlay under a temporary name and links it into place, never over an existing disk', async () => {
    const h = new FakeHost()
      .on(/^test -e/, { stdout: '', stderr: '', code: 1 })
      .on(/^qemu-img info/, ok(JSON.stringify({ format: 'qcow2', 'virtual-size': 2 * GiB, 'backing-filename': TEMPLATE })));
    expect(await new LibvirtDriver(h).createVmDiskOverlay(VM, { path: TEMPLATE, format: 'qcow2' }, 2 * GiB)).toBe(true);
    const create = h.calls.find((c) => c[0] === 'qemu-img' && c[1] === 'create')!;
    expect(create.slice(0, 8)).toEqual(['qemu-img', 'create', '-f', 'qcow2', '-F', 'qcow2', '-b', TEMPLATE]);
    const tmp = create[8];
    expect(tmp).toMatch(new RegExp(`^/var/lib/minicloud/vms/${VM}/\\.disk\\.qcow2\\.[0-9a-f]{12}\\.part$`));
    expect(create[9]).toBe(String(2 * GiB));
    expect(h.calls).toContainEqual(['ln', '--', tmp, DISK]);
    expect(h.calls[h.calls.length - 1]).toEqual(['rm', '-f', '--', tmp]);

    // A disk already there: nothing is created.
    const has = new FakeHost().on(/^test -e/, ok());
    expect(await new LibvirtDriver(has).createVmDiskOverlay(VM, { path: TEMPLATE, format: 'qcow2' }, 2 * GiB)).toBe(false);
    expect(has.lines().filter((l) => /qemu-img|ln /.test(l))).toEqual([]);

    // One that appeared between the check and the link is not replaced either.
    const race = new FakeHost()
      .on(/^test -e/, { stdout: '', stderr: '', code: 1 })
      .on(/^qemu-img info/, ok(JSON.stringify({ format: 'qcow2', 'virtual-size': 2 * GiB })))
      .on(/^ln /, fail(`ln: failed to create hard link '${DISK}': File exists`));
    expect(await new LibvirtDriver(race).createVmDiskOverlay(VM, { path: TEMPLATE, format: 'qcow2' }, 2 * GiB)).toBe(false);
  });

  it('refuses a backing file outside the image cache (it came from another host\'s output)', async () => {
    const h = new FakeHost().on(/^test -e/, { stdout: '', stderr: '', code: 1 });
    await expect(new LibvirtDriver(h).createVmDiskOverlay(VM, { path: '/etc/shadow', format: 'qcow2' }, GiB)).rejects.toThrow(/not an image in the host cache/);
    await expect(new LibvirtDriver(h).createVmDiskOverlay(VM, { path: `${TEMPLATE}; rm -rf /`, format: 'qcow2' }, GiB)).rejects.toThrow(/not an image in the host cache/);
    expect(h.calls).toEqual([]);
  });

  it('copies a binary file byte for byte: base64 out of one host, stdin + sha256 check + rename on the other', async () => {
    const bytes = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 10, 13, 0]);
    const src = new FakeHost().on(/^base64/, ok(bytes.toString('base64') + '\n'));
    const read = await new LibvirtDriver(src).readVmFile(VM, 'seed.iso');
    expect(read?.equals(bytes)).toBe(true);
    expect(src.calls).toContainEqual(['base64', '-w', '0', '--', `/var/lib/minicloud/vms/${VM}/seed.iso`]);

    const dst = new FakeHost().on(/^cp \/dev\/stdin/, (argv) => {
      dst.files.set(argv[2], dst.stdins[dst.stdins.length - 1] as Buffer);
      return ok();
    });
    await new LibvirtDriver(dst).writeVmFile(VM, 'seed.iso', read!);
    const cp = dst.calls.find((c) => c[0] === 'cp')!;
    expect(cp[2]).toMatch(new RegExp(`^/var/lib/minicloud/vms/${VM}/\\.seed\\.iso\\.[0-9a-f]{12}\\.part$`));
    expect(dst.calls).toContainEqual(['mv', '-f', '--', cp[2], `/var/lib/minicloud/vms/${VM}/seed.iso`]);

    // A host that stored something else: refused, the temp file removed, nothing renamed.
    const bad = new FakeHost().on(/^cp \/dev\/stdin/, (argv) => {
      bad.files.set(argv[2], Buffer.from('garbled'));
      return ok();
    });
    await expect(new LibvirtDriver(bad).writeVmFile(VM, 'seed.iso', bytes)).rejects.toThrow(/expected [0-9a-f]{64}/);
    expect(bad.lines().some((l) => l.startsWith('mv '))).toBe(false);
    expect(bad.lines()[bad.lines().length - 1]).toMatch(/^rm -f -- .*\.part$/);

    const absent = new FakeHost().on(/^test -e/, { stdout: '', stderr: '', code: 1 });
    expect(await new LibvirtDriver(absent).readVmFile(VM, 'seed.iso')).toBeUndefined();
    expect(await new LibvirtDriver(absent).vmFileChecksum(VM, 'seed.iso')).toBeUndefined();
  });

  it('tells "does not exist" from a failing test command', async () => {
    expect(await new LibvirtDriver(new FakeHost().on(/^test -e/, { stdout: '', stderr: '', code: 1 })).pathExists(DISK)).toBe(false);
    expect(await new LibvirtDriver(new FakeHost().on(/^test -e/, ok())).pathExists(DISK)).toBe(true);
    await expect(new LibvirtDriver(new FakeHost().on(/^test -e/, fail('bash: test: too many arguments', 2))).pathExists(DISK)).rejects.toThrow(HypervisorError);
    await expect(new LibvirtDriver(new FakeHost()).pathExists('/etc/../var/lib/minicloud/x')).rejects.toThrow(/not a platform path/);
    await expect(new LibvirtDriver(new FakeHost()).pathExists('/var/lib/minicloud/../../etc/shadow')).rejects.toThrow(/not a platform path/);
  });
});
