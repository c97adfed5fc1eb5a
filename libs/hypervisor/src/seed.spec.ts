import { execFileSync } from 'child_process';
import { buildSeedIso, renderCloudConfig, renderMetaData, renderSeedFiles, yamlString } from './seed';

const VM = '0b5d9a4e-3f7e-4c5b-9f0e-1a2b3c4d5e6f';

/** Parses YAML with PyYAML, the parser cloud-init itself uses. */
function pyYaml(text: string): unknown {
  const out = execFileSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin.read())))'], { input: text });
  return JSON.parse(out.toString());
}

const NASTY = [
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOq3 "quoted" comment',
  "ssh-rsa AAAAB3Nza it's: a # not-a-comment",
  'ssh-ed25519 AAAA line1\nmalicious_key: injected\n- also',
  'ssh-ed25519 AAAA \\backslash\\ \t tab {flow} [seq] &anchor *alias !tag %directive @at `tick` |pipe >fold',
  'ssh-ed25519 AAAA \u007f\u0085\u2028\u2029\ufeff unicode ✓ 🔑',
];

describe('cloud-init seed files', () => {
  it('meta-data carries the instance-id (VM id), the hostname (VM name) and the public keys', () => {
    const md = renderMetaData({ vmId: VM, hostname: 'web-1', sshKeys: ['ssh-ed25519 AAAA k1'] });
    expect(md).toBe(`instance-id: "${VM}"\nlocal-hostname: "web-1"\npublic-keys:\n  - "ssh-ed25519 AAAA k1"\n`);
    expect(pyYaml(md)).toEqual({ 'instance-id': VM, 'local-hostname': 'web-1', 'public-keys': ['ssh-ed25519 AAAA k1'] });
    expect(() => renderMetaData({ vmId: '../../etc', hostname: 'x' })).toThrow(/UUID/);
  });

  it('renders a #cloud-config whose keys survive quotes, newlines and YAML syntax unchanged', () => {
    const cc = renderCloudConfig(NASTY);
    expect(cc.startsWith('#cloud-config\nssh_authorized_keys:\n')).toBe(true);
    expect(cc.split('\n').filter(Boolean)).toHaveLength(2 + NASTY.length); // one line per key: no newline escaped the quoting
    expect(pyYaml(cc)).toEqual({ ssh_authorized_keys: NASTY.map((k) => k.trim()) });
    expect(pyYaml(renderMetaData({ vmId: VM, hostname: 'h', sshKeys: NASTY }))).toMatchObject({ 'public-keys': NASTY.map((k) => k.trim()) });
  });

  it('drops empty keys, writes a bare #cloud-config without keys, and refuses broken UTF-16', () => {
    expect(renderCloudConfig(['', '   '])).toBe('#cloud-config\n');
    expect(pyYaml(renderCloudConfig())).toBeNull();
    expect(() => yamlString('bad \ud800 surrogate')).toThrow(/surrogate/);
  });

  it('uses the given user-data verbatim, else the rendered cloud-config', () => {
    const ud = '#!/bin/sh\necho "hi $(id)"\n';
    expect(renderSeedFiles({ vmId: VM, hostname: 'a', sshKeys: ['k'], userData: ud })['user-data']).toBe(ud);
    expect(renderSeedFiles({ vmId: VM, hostname: 'a', sshKeys: ['k'] })['user-data']).toBe('#cloud-config\nssh_authorized_keys:\n  - "k"\n');
  });

  it('builds an ISO9660 volume "cidata" holding meta-data and user-data (read back with isoinfo)', async () => {
    const key = 'ssh-ed25519 AAAA "q" x\ny';
    const { isoPath, cleanup } = await buildSeedIso({ vmId: VM, hostname: 'web-1', sshKeys: [key] });
    try {
      const pvd = execFileSync('isoinfo', ['-d', '-i', isoPath]).toString();
      expect(pvd).toMatch(/Volume id: cidata/);
      const read = (f: string) => execFileSync('isoinfo', ['-R', '-i', isoPath, '-x', `/${f}`]).toString();
      expect(pyYaml(read('user-data'))).toEqual({ ssh_authorized_keys: [key] });
      expect(pyYaml(read('meta-data'))).toMatchObject({ 'instance-id': VM, 'local-hostname': 'web-1' });
    } finally {
      await cleanup();
    }
  });
});
