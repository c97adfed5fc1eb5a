import { ADDRESS_PATTERN as CONTRACT_ADDRESS, SSH_USER_PATTERN as CONTRACT_USER } from '@minicloud/contracts';
import { ADDRESS_PATTERN, parseHostEntry, parseHostFile, SSH_USER_PATTERN } from './host-file';

describe('host file', () => {
  it('uses exactly the platform rules for addresses and user names', () => {
    expect(ADDRESS_PATTERN.source).toBe(CONTRACT_ADDRESS.source);
    expect(SSH_USER_PATTERN.source).toBe(CONTRACT_USER.source);
  });

  it('reads every accepted form, with defaults root and 22', () => {
    expect(parseHostEntry('10.254.7.11')).toMatchObject({ address: '10.254.7.11', sshPort: 22, sshUser: 'root', portGiven: false, userGiven: false });
    expect(parseHostEntry('hv1.lab:2222')).toMatchObject({ address: 'hv1.lab', sshPort: 2222, sshUser: 'root', portGiven: true });
    expect(parseHostEntry('admin@10.0.0.5')).toMatchObject({ address: '10.0.0.5', sshPort: 22, sshUser: 'admin', userGiven: true });
    expect(parseHostEntry('ops@hv2:2200')).toMatchObject({ address: 'hv2', sshPort: 2200, sshUser: 'ops' });
    expect(parseHostEntry('fd00::7')).toMatchObject({ address: 'fd00::7', sshPort: 22 });
    expect(parseHostEntry('root@[fd00::7]:2022')).toMatchObject({ address: 'fd00::7', sshPort: 2022, sshUser: 'root' });
  });

  it('refuses what could reach a shell or is not an address', () => {
    expect(() => parseHostEntry('10.0.0.1;reboot')).toThrow(/not a host name or IP address/);
    expect(() => parseHostEntry('$(id)@10.0.0.1')).toThrow(/not a plain user name/);
    expect(() => parseHostEntry('h:0')).toThrow(/not a port/);
    expect(() => parseHostEntry('h:70000')).toThrow(/not a port/);
    expect(() => parseHostEntry('h:ssh')).toThrow(/not a port/);
    expect(() => parseHostEntry('@h')).toThrow(/user name/);
  });

  it('skips comments and blank lines, keeps line numbers, and reports bad lines without dropping the good ones', () => {
    const f = parseHostFile(['# lab hosts', '', '10.254.7.11', '  10.254.7.12:2222   # second', 'bad host', 'ops@x;y', 'admin@hv3'].join('\n'));
    expect(f.hosts.map((h) => [h.line, h.address, h.sshPort, h.sshUser])).toEqual([
      [3, '10.254.7.11', 22, 'root'],
      [4, '10.254.7.12', 2222, 'root'],
      [7, 'hv3', 22, 'admin'],
    ]);
    expect(f.invalid.map((b) => [b.line, b.text])).toEqual([
      [5, 'bad host'],
      [6, 'ops@x;y'],
    ]);
    expect(f.invalid[0].error).toMatch(/one host per line/);
  });

  it('handles CRLF files and an empty file', () => {
    expect(parseHostFile('a\r\nb\r\n').hosts.map((h) => h.address)).toEqual(['a', 'b']);
    expect(parseHostFile('# nothing\n\n')).toEqual({ hosts: [], invalid: [] });
  });
});
