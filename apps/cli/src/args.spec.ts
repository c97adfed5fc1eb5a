import { helpText, parseCommandLine, parseTags } from './args';
import { COMMANDS } from './commands';
import { UsageError } from './errors';

const parse = (line: string[]) => parseCommandLine(line, COMMANDS);

function run(line: string[]) {
  const r = parse(line);
  if (r.kind !== 'run') throw new Error(`expected a command, got ${r.kind}`);
  return r;
}

describe('command-line parsing', () => {
  it('reads a command, its argument and options, with global options anywhere', () => {
    const r = run(['--api', 'http://h:1', 'vm', 'create', 'web-1', '--vcpus', '2', '--memory=512', '--disk', '1', '--image', 'lab', '--json', '--tag', 'a=b', '--tag', 'c=d', '--wait']);
    expect(r.command.path).toEqual(['vm', 'create']);
    expect(r.args).toEqual({ NAME: 'web-1' });
    expect(r.options).toEqual({ vcpus: 2, memory: 512, disk: 1, image: 'lab', tag: ['a=b', 'c=d'], wait: true });
    expect(r.global).toMatchObject({ api: 'http://h:1', json: true });
  });

  it('accepts group aliases and global options after the arguments', () => {
    const r = run(['vms', 'show', 'abc', '--json', '--idempotency-key', 'k1', '--timeout', '30']);
    expect(r.command.path).toEqual(['vm', 'show']);
    expect(r.global).toEqual({ api: undefined, json: true, idempotencyKey: 'k1', timeout: 30 });
  });

  it('treats everything after -- as arguments', () => {
    expect(run(['hosts', 'disable', '--', '--weird']).args).toEqual({ HOST: '--weird' });
  });

  it.each([
    [['vm', 'create'], /missing NAME/],
    [['vm', 'show', 'a', 'b'], /unexpected argument "b"/],
    [['vm', 'create', 'x', '--vcpus', 'two'], /--vcpus must be a whole number/],
    [['vm', 'create', 'x', '--vcpus', '0'], /--vcpus must be at least 1/],
    [['vm', 'create', 'x', '--vcpus'], /--vcpus needs a value/],
    [['vm', 'create', 'x', '--image', 'a', '--image', 'b'], /--image given more than once/],
    [['vm', 'create', 'x', '--colour', 'red'], /unknown option --colour for "vm create"/],
    [['vm', 'list', '--wait=yes'], /unknown option --wait/],
    [['vm', 'show', 'x', '--json=1'], /--json takes no value/],
    [['vm', 'frobnicate'], /unknown command "vm frobnicate"/],
    [['dance'], /unknown command "dance"/],
    [['vm'], /"vm" needs a subcommand/],
    [['--bogus'], /unknown option --bogus/],
    [['vm', 'list', '--timeout', '0'], /--timeout must be at least 1/],
  ])('refuses %j with a usage error', (line, message) => {
    expect(() => parse(line as string[])).toThrow(UsageError);
    expect(() => parse(line as string[])).toThrow(message as RegExp);
  });

  it('answers --help at every level, even with missing arguments', () => {
    expect(parse(['--help'])).toMatchObject({ kind: 'help', path: [] });
    expect(parse([])).toMatchObject({ kind: 'help', path: [] });
    expect(parse(['help', 'vm'])).toMatchObject({ kind: 'help', path: ['vm'] });
    expect(parse(['vm', '--help'])).toMatchObject({ kind: 'help', path: ['vm'] });
    expect(parse(['vm', 'create', '-h'])).toMatchObject({ kind: 'help', path: ['vm', 'create'] });
    expect(parse(['vm', 'create', '--vcpus', '2', '--help'])).toMatchObject({ kind: 'help', path: ['vm', 'create'] });
  });

  it('writes help that lists every command and the options of one', () => {
    const top = helpText([], COMMANDS);
    for (const c of COMMANDS) expect(top).toContain(c.path.join(' '));
    expect(top).toMatch(/Exit codes: 0 ok, 1 refused/);
    const vm = helpText(['vm'], COMMANDS);
    expect(vm).toContain('vm force-stop VM');
    expect(vm).not.toContain('hosts add');
    const create = helpText(['vm', 'create'], COMMANDS);
    expect(create).toContain('Usage: minicloud vm create NAME [options]');
    expect(create).toMatch(/--ssh-key FILE \.\.\./);
    expect(create).toMatch(/--api URL/);
  });

  it('reads tags as KEY=VALUE', () => {
    expect(parseTags(['team=web', 'empty=', 'eq=a=b'])).toEqual({ team: 'web', empty: '', eq: 'a=b' });
    expect(parseTags(undefined)).toBeUndefined();
    expect(() => parseTags(['novalue'])).toThrow(/KEY=VALUE/);
    expect(() => parseTags(['=x'])).toThrow(/KEY=VALUE/);
    expect(() => parseTags(['a=1', 'a=2'])).toThrow(/twice/);
  });
});
