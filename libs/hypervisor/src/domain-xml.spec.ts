import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { buildDomainXml, xmlEscape } from './domain-xml';
import type { VmSpec } from './types';

const VM = '0b5d9a4e-3f7e-4c5b-9f0e-1a2b3c4d5e6f';
const base: VmSpec = {
  vmId: VM,
  name: 'web-1',
  vcpus: 2,
  memoryMiB: 256,
  diskGiB: 1,
  image: {
    format: 'qcow2',
    virtualSizeBytes: 64 << 20,
    paths: { disk: '/var/lib/minicloud/images/' + 'a'.repeat(64) + '.qcow2', kernel: '/var/lib/minicloud/images/' + 'b'.repeat(64) + '.vmlinuz', initrd: '/var/lib/minicloud/images/' + 'c'.repeat(64) + '.initrd' },
    cmdline: 'console=ttyS0 root=/dev/vda rw',
  },
};

/** libvirt's own parser (the in-process test driver) must accept the XML and keep what we set. */
function libvirtRoundTrip(xml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'mc-xml-'));
  try {
    writeFileSync(join(dir, 'd.xml'), xml);
    return execFileSync('virsh', ['-c', 'test:///default', `define ${join(dir, 'd.xml')}; dumpxml mc-${VM}`]).toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('buildDomainXml', () => {
  it('builds a TCG domain named mc-<id> with uuid, title, resources, disk, kernel boot, ACPI and logged serial', () => {
    const xml = buildDomainXml(base);
    expect(xml).toContain(`<domain type='qemu'>`);
    expect(xml).toContain(`<name>mc-${VM}</name>`);
    expect(xml).toContain(`<uuid>${VM}</uuid>`);
    expect(xml).toContain(`<title>web-1</title>`);
    expect(xml).toContain(`<memory unit='KiB'>262144</memory>`);
    expect(xml).toContain(`<vcpu placement='static'>2</vcpu>`);
    expect(xml).toContain(`<source file='/var/lib/minicloud/vms/${VM}/disk.qcow2'/>`);
    expect(xml).toContain(`<target dev='vda' bus='virtio'/>`);
    expect(xml).toContain(`<kernel>${base.image.paths.kernel}</kernel>`);
    expect(xml).toContain(`<initrd>${base.image.paths.initrd}</initrd>`);
    expect(xml).toContain(`<cmdline>console=ttyS0 root=/dev/vda rw</cmdline>`);
    expect(xml).toMatch(/<features>\s*<acpi\/>\s*<\/features>/);
    expect(xml).toContain(`<log file='/var/lib/minicloud/vms/${VM}/console.log' append='on'/>`);
    expect(xml).toMatch(/<console type='pty'>\s*<target type='serial' port='0'\/>/);
    expect(xml).not.toContain('cdrom');

    const dumped = libvirtRoundTrip(xml);
    expect(dumped).toContain(`<uuid>${VM}</uuid>`);
    expect(dumped).toContain('<title>web-1</title>');
    expect(dumped).toContain(`<log file='/var/lib/minicloud/vms/${VM}/console.log' append='on'/>`);
    expect(dumped).toContain('<acpi/>');
  });

  it('turns off the USB controller and the memory balloon libvirt would add (less device state at a migration switch-over)', () => {
    const xml = buildDomainXml(base);
    expect(xml).toMatch(/<devices>[\s\S]*<controller type='usb' model='none'\/>[\s\S]*<\/devices>/);
    expect(xml).toMatch(/<devices>[\s\S]*<memballoon model='none'\/>[\s\S]*<\/devices>/);
    expect(xml.match(/<controller /g)).toHaveLength(1);
    expect(xml.match(/<memballoon /g)).toHaveLength(1);
    const dumped = libvirtRoundTrip(xml);
    expect(dumped).toMatch(/<controller type='usb' index='0' model='none'\/>/);
    expect(dumped).toContain(`<memballoon model='none'/>`);
    expect(dumped).not.toMatch(/<controller type='usb'[^>]*model='(?!none)/);
  });

  it('boots from disk without a kernel and adds the seed ISO as a read-only virtio disk (vdb)', () => {
    const xml = buildDomainXml({ ...base, image: { ...base.image, paths: { disk: base.image.paths.disk } }, seedIsoPath: `/var/lib/minicloud/vms/${VM}/seed.iso` });
    expect(xml).toContain(`<boot dev='hd'/>`);
    expect(xml).not.toContain('<kernel>');
    expect(xml).not.toContain('<cmdline>');
    expect(xml).toMatch(/<disk type='file' device='disk'>\s*<driver name='qemu' type='raw'\/>\s*<source file='[^']*seed\.iso'\/>\s*<target dev='vdb' bus='virtio'\/>\s*<readonly\/>/);
    expect(libvirtRoundTrip(xml)).toContain('seed.iso');
  });

  it('escapes every value and refuses what XML cannot hold', () => {
    const xml = buildDomainXml({ ...base, name: `a<b>&"c'` });
    expect(xml).toContain(`<title>a&lt;b&gt;&amp;&quot;c&apos;</title>`);
    expect(libvirtRoundTrip(xml)).toContain('<title>a&lt;b&gt;&amp;&quot;c&apos;</title>');
    expect(xmlEscape(`<&>'"`)).toBe('&lt;&amp;&gt;&apos;&quot;');
    expect(() => buildDomainXml({ ...base, name: 'bell\u0007' })).toThrow(/XML cannot hold/);
  });

  it('refuses bad ids and resources', () => {
    expect(() => buildDomainXml({ ...base, vmId: '../../etc' })).toThrow(/UUID/);
    expect(() => buildDomainXml({ ...base, vcpus: 0 })).toThrow(/vcpus/);
    expect(() => buildDomainXml({ ...base, memoryMiB: 1.5 })).toThrow(/memoryMiB/);
  });
});
