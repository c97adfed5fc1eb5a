import { execFile } from 'child_process';
import { promises as fs } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { promisify } from 'util';
import { assertVmId } from './layout';

const run = promisify(execFile);

/** The cloud-init NoCloud volume label. */
export const SEED_VOLUME_ID = 'cidata';

export interface SeedInput {
  vmId: string;
  /** The VM's name: the guest's hostname. */
  hostname: string;
  sshKeys?: string[];
  /** Given user-data, used verbatim; without it a #cloud-config with the SSH keys is written. */
  userData?: string;
}

export interface SeedFiles {
  'meta-data': string;
  'user-data': string;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * A YAML double-quoted scalar that is also a JSON string: JSON.stringify, plus \u escapes for the characters
 * YAML parsers refuse or treat as line breaks (DEL, C1 controls, NEL, U+2028/2029, BOM, U+FFFE/FFFF). Quotes,
 * backslashes, newlines and `#`/`:` inside the value can then never end the scalar or start a new key.
 */
export function yamlString(s: string): string {
  if (typeof s !== 'string') throw new TypeError('expected a string');
  if (LONE_SURROGATE.test(s)) throw new Error('value contains an unpaired UTF-16 surrogate');
  return JSON.stringify(s).replace(/[\u007F-\u009F\u2028\u2029\uFEFF\uFFFE\uFFFF]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Keys as given, trimmed; empty ones dropped. */
function cleanKeys(keys?: string[]): string[] {
  return (keys ?? []).map((k) => k.trim()).filter(Boolean);
}

export function renderMetaData(input: Pick<SeedInput, 'vmId' | 'hostname' | 'sshKeys'>): string {
  const lines = [`instance-id: ${yamlString(assertVmId(input.vmId))}`, `local-hostname: ${yamlString(input.hostname)}`];
  const keys = cleanKeys(input.sshKeys);
  if (keys.length) lines.push('public-keys:', ...keys.map((k) => `  - ${yamlString(k)}`));
  return lines.join('\n') + '\n';
}

/** `#cloud-config` with the SSH keys for the default user. */
export function renderCloudConfig(sshKeys?: string[]): string {
  const keys = cleanKeys(sshKeys);
  const lines = ['#cloud-config'];
  if (keys.length) lines.push('ssh_authorized_keys:', ...keys.map((k) => `  - ${yamlString(k)}`));
  return lines.join('\n') + '\n';
}

/** The files of the NoCloud seed. */
export function renderSeedFiles(input: SeedInput): SeedFiles {
  return {
    'meta-data': renderMetaData(input),
    'user-data': input.userData !== undefined && input.userData !== '' ? input.userData : renderCloudConfig(input.sshKeys),
  };
}

/** argv for genisoimage (or `xorriso -as mkisofs`, which takes the same options). */
export function seedIsoArgv(tool: 'genisoimage' | 'xorriso', outPath: string, dir: string): string[] {
  const opts = ['-output', outPath, '-volid', SEED_VOLUME_ID, '-joliet', '-rock', join(dir, 'user-data'), join(dir, 'meta-data')];
  return tool === 'xorriso' ? ['xorriso', '-as', 'mkisofs', ...opts] : ['genisoimage', '-quiet', ...opts];
}

/**
 * Builds the seed ISO on the controller, in a fresh temp dir: the files are written there (user text only ever
 * goes into files) and genisoimage (or xorriso) is run with argv, never a shell. Returns the ISO's path and a
 * cleanup function that removes the temp dir.
 */
export async function buildSeedIso(input: SeedInput): Promise<{ isoPath: string; files: SeedFiles; cleanup: () => Promise<void> }> {
  const files = renderSeedFiles(input);
  const dir = await fs.mkdtemp(join(tmpdir(), 'mc-seed-'));
  const cleanup = () => fs.rm(dir, { recursive: true, force: true });
  try {
    const content = join(dir, 'content');
    await fs.mkdir(content);
    await fs.writeFile(join(content, 'meta-data'), files['meta-data']);
    await fs.writeFile(join(content, 'user-data'), files['user-data']);
    const isoPath = join(dir, 'seed.iso');
    let lastErr: unknown;
    for (const tool of ['genisoimage', 'xorriso'] as const) {
      const [bin, ...args] = seedIsoArgv(tool, isoPath, content);
      try {
        await run(bin, args, { timeout: 60_000 });
        return { isoPath, files, cleanup };
      } catch (e) {
        lastErr = e;
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') break;
      }
    }
    const err = lastErr as { stderr?: string; message: string; code?: string };
    throw new Error(
      err.code === 'ENOENT'
        ? 'cannot build the cloud-init seed: neither genisoimage nor xorriso is installed on the controller'
        : `building the cloud-init seed ISO failed: ${(err.stderr || err.message).trim()}`,
    );
  } catch (e) {
    await cleanup();
    throw e;
  }
}
