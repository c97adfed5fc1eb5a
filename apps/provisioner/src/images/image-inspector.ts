import { execFile } from 'child_process';
import { createHash } from 'crypto';
import { createReadStream, promises as fs } from 'fs';
import { machine } from 'os';
import { basename, dirname, extname, join } from 'path';
import { promisify } from 'util';
import { ImageFormats, type ImageFormat } from '@minicloud/contracts';
import { parseQemuImgInfo } from '@minicloud/hypervisor';
import { UnprocessableError } from '../errors';

const run = promisify(execFile);

export interface InspectedFile {
  path: string;
  checksum: string;
  sizeBytes: number;
}

export interface InspectedImage {
  disk: InspectedFile & { format: ImageFormat; virtualSizeBytes: number };
  kernel?: InspectedFile;
  initrd?: InspectedFile;
  arch: string;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

async function regularFile(path: string, what: string): Promise<number> {
  let st;
  try {
    st = await fs.stat(path);
  } catch {
    throw new UnprocessableError(`${what} ${path} does not exist on the controller`);
  }
  if (!st.isFile()) throw new UnprocessableError(`${what} ${path} is not a regular file`);
  return st.size;
}

async function exists(path: string): Promise<boolean> {
  return fs.stat(path).then((s) => s.isFile(), () => false);
}

/**
 * Kernel/initrd convention: when not given, `<dir>/<stem>.vmlinuz` and `<dir>/<stem>.initrd` beside the image
 * (stem = the image's file name without its extension) are used if they exist.
 */
export async function companionFiles(imagePath: string): Promise<{ kernelPath?: string; initrdPath?: string }> {
  const stem = basename(imagePath, extname(imagePath));
  const k = join(dirname(imagePath), `${stem}.vmlinuz`);
  const i = join(dirname(imagePath), `${stem}.initrd`);
  return { kernelPath: (await exists(k)) ? k : undefined, initrdPath: (await exists(i)) ? i : undefined };
}

/** The kernel's architecture from its boot header (x86 bzImage "HdrS" at 0x202, arm64 Image "ARM\x64" at 0x38). */
export function kernelArch(head: Buffer): string | undefined {
  if (head.length >= 0x206 && head.toString('latin1', 0x202, 0x206) === 'HdrS') return 'x86_64';
  if (head.length >= 0x3c && head.readUInt32LE(0x38) === 0x644d5241) return 'aarch64';
  return undefined;
}

function controllerArch(): string {
  const m = machine();
  return m === 'arm64' ? 'aarch64' : m;
}

async function inspectFile(path: string, what: string): Promise<InspectedFile> {
  const sizeBytes = await regularFile(path, what);
  return { path, sizeBytes, checksum: await sha256File(path) };
}

/** Everything the provisioner records about an image file on the controller. No shell: execFile with argv. */
export async function inspectImage(req: { path: string; kernelPath?: string; initrdPath?: string }): Promise<InspectedImage> {
  await regularFile(req.path, 'image');
  let out: string;
  try {
    out = (await run('qemu-img', ['info', '--output=json', req.path], { timeout: 60_000, maxBuffer: 4 << 20 })).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new UnprocessableError(`qemu-img cannot read ${req.path}: ${(err.stderr || err.message).trim()}`);
  }
  const info = parseQemuImgInfo(out);
  if (!(ImageFormats as readonly string[]).includes(info.format)) {
    throw new UnprocessableError(`image ${req.path} is in format ${info.format}; only ${ImageFormats.join(' and ')} are supported`);
  }
  if (info.backingFile) {
    throw new UnprocessableError(`image ${req.path} has a backing file (${info.backingFile}); register a self-contained image (qemu-img convert)`);
  }
  const companions = req.kernelPath || req.initrdPath ? {} : await companionFiles(req.path);
  const kernelPath = req.kernelPath ?? companions.kernelPath;
  const initrdPath = req.initrdPath ?? companions.initrdPath;
  if (initrdPath && !kernelPath) throw new UnprocessableError('an initrd needs a kernel: give kernelPath too');
  const [disk, kernel, initrd] = await Promise.all([
    inspectFile(req.path, 'image'),
    kernelPath ? inspectFile(kernelPath, 'kernel') : undefined,
    initrdPath ? inspectFile(initrdPath, 'initrd') : undefined,
  ]);
  let arch = controllerArch();
  if (kernel) {
    const fh = await fs.open(kernel.path, 'r');
    try {
      const buf = Buffer.alloc(0x400);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      arch = kernelArch(buf.subarray(0, bytesRead)) ?? arch;
    } finally {
      await fh.close();
    }
  }
  return { disk: { ...disk, format: info.format as ImageFormat, virtualSizeBytes: info.virtualSizeBytes }, kernel, initrd, arch };
}
