import { domainName, assertVmId, vmConsoleLogPath, vmDiskPathFor } from './layout';
import type { VmSpec } from './types';

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Characters XML 1.0 cannot carry at all (escaping does not help): refused. */
const XML_INVALID = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

function text(s: string): string {
  if (XML_INVALID.test(s)) throw new Error('value contains characters XML cannot hold');
  return xmlEscape(s);
}

function positive(name: string, n: number, max: number): number {
  if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`${name} must be an integer 1..${max}, got ${n}`);
  return n;
}

/**
 * Turns off libvirt's default devices the platform does not use: the USB controller (no USB device is ever
 * attached; the pc machine's PS/2 keyboard and mouse are built in and stay) and the memory balloon (memory is never
 * ballooned, and `domstats` still reports balloon.current/maximum from the definition and balloon.rss from the
 * process without it; balloon.usable needs a stats period the platform never sets).
 */
export const NO_DEFAULT_DEVICES: readonly string[] = [`<controller type='usb' model='none'/>`, `<memballoon model='none'/>`];

/**
 * The libvirt domain for one VM: TCG (`type='qemu'`), named mc-<vmId> with the VM id as its UUID and the
 * VM's name as title, virtio disk (linked clone), optional seed ISO (read-only virtio disk vdb), direct kernel boot when the image has a
 * kernel, ACPI (needed for graceful shutdown and PCI hotplug), serial console logged to the VM's directory.
 *
 * Without the default devices nothing uses ({@link NO_DEFAULT_DEVICES}): libvirt would otherwise add a USB controller
 * (PIIX3 UHCI) and a virtio memballoon. Every device's state is saved, sent and loaded while a live migration has the guest
 * paused; without these two the idle lab guest's switch-over pause was ~20 ms shorter (docs/migration.md).
 */
export function buildDomainXml(spec: VmSpec): string {
  const id = assertVmId(spec.vmId);
  const vcpus = positive('vcpus', spec.vcpus, 1024);
  const memKiB = positive('memoryMiB', spec.memoryMiB, 16 * 1024 * 1024) * 1024;
  const lines: string[] = [];
  lines.push(`<domain type='qemu'>`);
  lines.push(`  <name>${text(domainName(id))}</name>`);
  lines.push(`  <uuid>${text(id)}</uuid>`);
  lines.push(`  <title>${text(spec.name)}</title>`);
  lines.push(`  <metadata>`);
  lines.push(`    <minicloud:vm xmlns:minicloud='https://minicloud.dev/xmlns/vm/1' id='${text(id)}' name='${text(spec.name)}'/>`);
  lines.push(`  </metadata>`);
  lines.push(`  <memory unit='KiB'>${memKiB}</memory>`);
  lines.push(`  <currentMemory unit='KiB'>${memKiB}</currentMemory>`);
  lines.push(`  <vcpu placement='static'>${vcpus}</vcpu>`);
  lines.push(`  <os>`);
  lines.push(`    <type arch='x86_64' machine='pc'>hvm</type>`);
  const { kernel, initrd } = spec.image.paths;
  if (kernel) {
    lines.push(`    <kernel>${text(kernel)}</kernel>`);
    if (initrd) lines.push(`    <initrd>${text(initrd)}</initrd>`);
    if (spec.image.cmdline) lines.push(`    <cmdline>${text(spec.image.cmdline)}</cmdline>`);
  } else {
    lines.push(`    <boot dev='hd'/>`);
  }
  lines.push(`  </os>`);
  lines.push(`  <features>`);
  lines.push(`    <acpi/>`);
  lines.push(`  </features>`);
  lines.push(`  <on_poweroff>destroy</on_poweroff>`);
  lines.push(`  <on_reboot>restart</on_reboot>`);
  lines.push(`  <on_crash>destroy</on_crash>`);
  lines.push(`  <devices>`);
  lines.push(`    <disk type='file' device='disk'>`);
  lines.push(`      <driver name='qemu' type='qcow2'/>`);
  lines.push(`      <source file='${text(vmDiskPathFor(id, spec.storage))}'/>`);
  lines.push(`      <target dev='vda' bus='virtio'/>`);
  lines.push(`    </disk>`);
  if (spec.seedIsoPath) {
    // A read-only virtio disk, not an IDE/SATA cdrom: guests (the lab's among them) look for the NoCloud seed
    // on /dev/vd[b-z], and a minimal initrd carries virtio_blk + isofs but no ATA/AHCI drivers.
    lines.push(`    <disk type='file' device='disk'>`);
    lines.push(`      <driver name='qemu' type='raw'/>`);
    lines.push(`      <source file='${text(spec.seedIsoPath)}'/>`);
    lines.push(`      <target dev='vdb' bus='virtio'/>`);
    lines.push(`      <readonly/>`);
    lines.push(`    </disk>`);
  }
  lines.push(`    <serial type='pty'>`);
  lines.push(`      <log file='${text(vmConsoleLogPath(id))}' append='on'/>`);
  lines.push(`      <target port='0'/>`);
  lines.push(`    </serial>`);
  lines.push(`    <console type='pty'>`);
  lines.push(`      <target type='serial' port='0'/>`);
  lines.push(`    </console>`);
  for (const d of NO_DEFAULT_DEVICES) lines.push(`    ${d}`);
  lines.push(`  </devices>`);
  lines.push(`</domain>`);
  return lines.join('\n') + '\n';
}
