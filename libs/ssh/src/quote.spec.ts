import { execFileSync } from 'child_process';
import { describeArgv, quoteArg, quoteArgv } from './quote';

/** Runs the quoted line through a real POSIX shell and returns the argv it saw (one per line, NUL-separated). */
function roundTrip(argv: string[]): string[] {
  const line = `printf '%s\\0' ${quoteArgv(argv)}`;
  const out = execFileSync('/bin/sh', ['-c', line]).toString('utf8');
  return out.split('\0').slice(0, -1);
}

describe('quoteArgv', () => {
  const nasty = [
    "it's",
    "'",
    "''",
    '"double"',
    '$(rm -rf /)',
    '`id`',
    '$HOME',
    'a;b&&c||d|e',
    'new\nline',
    'tab\there',
    ' leading and trailing ',
    '',
    '*',
    '~',
    '-rf',
    '\\',
    "mixed '\"$`\\ all",
    'ünïcødé ✓',
    '> /etc/passwd',
  ];

  it('makes the remote shell see exactly the original arguments', () => {
    expect(roundTrip(nasty)).toEqual(nasty);
  });

  it('quotes every argument, even plain ones', () => {
    expect(quoteArgv(['virsh', 'list'])).toBe("'virsh' 'list'");
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
  });

  it('refuses NUL bytes, empty argv and non-strings', () => {
    expect(() => quoteArg('a\0b')).toThrow(/NUL/);
    expect(() => quoteArgv([])).toThrow(/non-empty/);
    expect(() => quoteArgv([1 as unknown as string])).toThrow(/string/);
  });

  it('describes argv readably and truncates', () => {
    expect(describeArgv(['virsh', '-c', 'qemu:///system', 'start', 'mc-1'])).toBe('virsh -c qemu:///system start mc-1');
    expect(describeArgv(['echo', 'a b'])).toBe("echo 'a b'");
    expect(describeArgv(['x', 'y'.repeat(500)], 50)).toHaveLength(50);
  });
});
