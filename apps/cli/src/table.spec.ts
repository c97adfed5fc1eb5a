import { cellText, formatBytes, formatDetails, formatDuration, formatMiB, formatTable, formatTags } from './table';

describe('table formatting', () => {
  it('aligns columns to the widest cell, with no trailing spaces', () => {
    const t = formatTable(['ID', 'NAME', 'STATUS'], [
      ['1', 'web-1', 'running'],
      ['22', 'db', null],
    ]);
    expect(t).toBe(['ID  NAME   STATUS', '1   web-1  running', '22  db     -', ''].join('\n'));
    for (const line of t.split('\n')) expect(line).toBe(line.trimEnd());
  });

  it('says (none) for an empty table', () => {
    expect(formatTable(['ID', 'NAME'], [])).toBe('ID  NAME\n(none)\n');
  });

  it('keeps one row per line even when a cell has line breaks', () => {
    expect(formatTable(['A'], [['x\ny']]).split('\n')).toEqual(['A', 'x y', '']);
    expect(cellText(undefined)).toBe('-');
    expect(cellText(0)).toBe('0');
  });

  it('aligns key: value blocks', () => {
    expect(formatDetails([['id', 'x'], ['status', 'running']])).toBe('id:     x\nstatus: running\n');
  });

  it('formats sizes and durations for people', () => {
    expect(formatMiB(256)).toBe('256 MiB');
    expect(formatMiB(2048)).toBe('2 GiB');
    expect(formatMiB(1536)).toBe('1536 MiB');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(10 * 1024 * 1024)).toBe('10.0 MiB');
    expect(formatBytes(null)).toBe('-');
    expect(formatDuration(1234)).toBe('1.2s');
    expect(formatDuration(125_000)).toBe('2m05s');
    expect(formatTags({ team: 'web', env: 'prod' })).toBe('team=web,env=prod');
  });
});
