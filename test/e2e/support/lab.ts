import { execFile } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { promisify } from 'util';

const run = promisify(execFile);

export interface LabHost {
  name: string;
  address: string;
  port: number;
  user: string;
  hostKey: string;
  index: number;
}

export interface Lab {
  hosts: LabHost[];
  privateKeyPath: string;
  knownHostsPath: string;
  imageDir: string;
}

const LAB_DIR = process.env.MINICLOUD_LAB_DIR ?? '/var/lib/minicloud-lab';

/** The lab brought up by infra/lab/lab.sh (test/run-all.sh does it). A missing lab fails the test: never a skip. */
export function readLab(): Lab {
  const file = `${LAB_DIR}/lab.json`;
  if (!existsSync(file)) throw new Error(`no lab at ${file}: run "bash infra/lab/lab.sh up 2" (test/run-all.sh does)`);
  return JSON.parse(readFileSync(file, 'utf8')) as Lab;
}

/** Runs a command on a lab host as the platform would see it: over ssh with the lab key and pinned host keys. */
export async function onHost(lab: Lab, host: LabHost, argv: string[]): Promise<string> {
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const { stdout } = await run(
    'ssh',
    ['-i', lab.privateKeyPath, '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${lab.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-p', String(host.port), `${host.user}@${host.address}`, quoted],
    { timeout: 60_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

export async function virsh(lab: Lab, host: LabHost, ...args: string[]): Promise<string> {
  return onHost(lab, host, ['virsh', '-c', 'qemu:///system', ...args]);
}

/** Removes the platform's VMs (domains mc-<uuid> and their directories) from every lab host. */
export async function cleanLabVms(lab: Lab, vmIds?: string[]): Promise<void> {
  for (const h of lab.hosts) {
    const names = (await virsh(lab, h, 'list', '--all', '--name').catch(() => ''))
      .split('\n')
      .map((s) => s.trim())
      .filter((n) => /^mc-[0-9a-f-]{36}$/.test(n))
      .filter((n) => !vmIds || vmIds.includes(n.slice(3)));
    for (const n of names) {
      await virsh(lab, h, 'destroy', n).catch(() => undefined);
      await virsh(lab, h, 'undefine', n, '--nvram').catch(() => virsh(lab, h, 'undefine', n).catch(() => undefined));
      await onHost(lab, h, ['rm', '-rf', `/var/lib/minicloud/vms/${n.slice(3)}`]).catch(() => undefined);
    }
  }
}
