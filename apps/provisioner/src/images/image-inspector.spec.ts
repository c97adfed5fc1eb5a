import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { companionFiles, inspectImage, kernelArch } from './image-inspector';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

function fakeBzImage(): Buffer {
  const b = Buffer.alloc(0x400, 1);
  b.write('HdrS', 0x202, 'latin1');
  return b;
}

describe('image inspection on the controller', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mc-inspect-'));
  const img = join(dir, 'lab.qcow2');
  beforeAll(() => {
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', img, '64M']);
    writeFileSync(join(dir, 'lab.vmlinuz'), fakeBzImage());
    writeFileSync(join(dir, 'lab.initrd'), 'initrd bytes');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('detects format, sizes, checksums and the companion kernel/initrd', async () => {
    const r = await inspectImage({ path: img });
    expect(r.disk.format).toBe('qcow2');
    expect(r.disk.virtualSizeBytes).toBe(64 * 1024 * 1024);
    expect(r.disk.checksum).toBe(sha(execFileSync('cat', [img])));
    expect(r.kernel?.path).toBe(join(dir, 'lab.vmlinuz'));
    expect(r.kernel?.checksum).toBe(sha(fakeBzImage()));
    expect(r.initrd?.checksum).toBe(sha('initrd bytes'));
    expect(r.arch).toBe('x86_64');
  });

  it('detects raw images and uses no companions when none exist', async () => {
    const raw = join(dir, 'plain.img');
    execFileSync('truncate', ['-s', '1M', raw]);
    const r = await inspectImage({ path: raw });
    expect(r.disk.format).toBe('raw');
    expect(r.kernel).toBeUndefined();
    expect(await companionFiles(raw)).toEqual({ kernelPath: undefined, initrdPath: undefined });
  });

  it('refuses missing paths, directories, overlays and an initrd without kernel', async () => {
    await expect(inspectImage({ path: join(dir, 'nope.qcow2') })).rejects.toThrow(/does not exist on the controller/);
    await expect(inspectImage({ path: dir })).rejects.toThrow(/not a regular file/);
    const over = join(dir, 'over.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', img, over]);
    await expect(inspectImage({ path: over })).rejects.toThrow(/has a backing file/);
    await expect(inspectImage({ path: img, initrdPath: join(dir, 'lab.initrd') })).rejects.toThrow(/needs a kernel/);
    await expect(inspectImage({ path: img, kernelPath: join(dir, 'missing.vmlinuz') })).rejects.toThrow(/kernel .* does not exist/);
  });

  it('reads the kernel architecture from its header', () => {
    expect(kernelArch(fakeBzImage())).toBe('x86_64');
    const arm = Buffer.alloc(0x40);
    arm.writeUInt32LE(0x644d5241, 0x38);
    expect(kernelArch(arm)).toBe('aarch64');
    expect(kernelArch(Buffer.from('nothing'))).toBeUndefined();
  });
});
