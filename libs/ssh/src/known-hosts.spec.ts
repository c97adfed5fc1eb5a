import { createHmac } from 'crypto';
import { findKnownHostKeys, knownHostsName, parseHostKey } from './known-hosts';

const K1 = 'AAAAC3NzaC1lZDI1NTE5AAAAIHx1nRk2w3cQ4Kx8+Q1i3m5xqv5xj3Gm0Qe0i7n9Wm1A';
const K2 = 'AAAAC3NzaC1lZDI1NTE5AAAAIBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

function hashed(name: string, salt = Buffer.from('0123456789abcdef0123')): string {
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts', () => {
  it('uses [addr]:port for non-standard ports', () => {
    expect(knownHostsName('10.254.7.11', 22)).toBe('10.254.7.11');
    expect(knownHostsName('10.254.7.11', 2222)).toBe('[10.254.7.11]:2222');
  });

  it('finds plain, comma-listed, hashed and port-qualified entries, and nothing else', () => {
    const text = [
      '# comment',
      '',
      `10.254.7.11 ssh-ed25519 ${K1} root@h1`,
      `h2,10.254.7.12 ssh-ed25519 ${K2}`,
      `${hashed('10.254.7.13')} ssh-ed25519 ${K1}`,
      `[10.254.7.14]:2222 ssh-ed25519 ${K2}`,
      `10.254.7.111 ssh-ed25519 ${K2}`,
      'garbage line',
    ].join('\n');
    expect(findKnownHostKeys(text, '10.254.7.11', 22).keys).toEqual([{ type: 'ssh-ed25519', base64: K1 }]);
    expect(findKnownHostKeys(text, '10.254.7.12', 22).keys).toEqual([{ type: 'ssh-ed25519', base64: K2 }]);
    expect(findKnownHostKeys(text, '10.254.7.13', 22).keys).toEqual([{ type: 'ssh-ed25519', base64: K1 }]);
    expect(findKnownHostKeys(text, '10.254.7.14', 2222).keys).toEqual([{ type: 'ssh-ed25519', base64: K2 }]);
    expect(findKnownHostKeys(text, '10.254.7.14', 22).keys).toEqual([]);
    expect(findKnownHostKeys(text, '10.254.7.1', 22).keys).toEqual([]);
  });

  it('honours wildcards, negation and @revoked, ignores @cert-authority', () => {
    const text = [`10.254.7.* ssh-ed25519 ${K1}`, `!10.254.7.99,10.254.7.9? ssh-ed25519 ${K2}`, `@revoked 10.254.7.50 ssh-ed25519 ${K1}`, `@cert-authority * ssh-ed25519 ${K2}`].join('\n');
    expect(findKnownHostKeys(text, '10.254.7.5', 22).keys.map((k) => k.base64)).toEqual([K1]);
    expect(findKnownHostKeys(text, '10.254.7.91', 22).keys.map((k) => k.base64)).toEqual([K1, K2]);
    expect(findKnownHostKeys(text, '10.254.7.99', 22).keys.map((k) => k.base64)).toEqual([K1]);
    expect(findKnownHostKeys(text, '10.254.7.50', 22).revoked.map((k) => k.base64)).toEqual([K1]);
  });

  it('parses a pinned key and refuses junk', () => {
    expect(parseHostKey(`ssh-ed25519 ${K1} comment`)).toEqual({ type: 'ssh-ed25519', base64: K1 });
    expect(() => parseHostKey('ssh-ed25519')).toThrow(/not an SSH public key/);
    expect(() => parseHostKey('ssh-ed25519 not$base64')).toThrow(/not an SSH public key/);
  });
});
