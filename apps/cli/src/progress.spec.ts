import { Progress } from './progress';

function stream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, isTTY, write: (s: string) => writes.push(s) };
}

describe('progress display', () => {
  it('writes one line per state change when stderr is not a terminal', () => {
    const s = stream(false);
    const p = new Progress(s, 'VM web-1', () => 0, 0);
    p.update('requested', 0);
    p.update('requested', 500);
    p.update('scheduled', 1200);
    p.update('running', 9000);
    p.finish('VM web-1: running (9.0s)');
    // The final line is not repeated when the last state line already said it.
    expect(s.writes.join('')).toBe('VM web-1: requested (0.0s)\nVM web-1: scheduled (1.2s)\nVM web-1: running (9.0s)\n');
  });

  it('redraws one line in place on a terminal, then clears it for the final line', () => {
    const s = stream(true);
    const p = new Progress(s, 'stop web-1', () => 0, 0);
    p.update('pending', 0);
    p.update('pending', 1000);
    p.update('running', 2000);
    p.finish('stop web-1: succeeded (2.5s)');
    expect(s.writes.slice(0, 3).every((w) => w.startsWith('\r\x1b[K') && !w.includes('\n'))).toBe(true);
    expect(s.writes[2]).toContain('stop web-1: running (2.0s)');
    expect(s.writes.slice(-2)).toEqual(['\r\x1b[K', 'stop web-1: succeeded (2.5s)\n']);
  });

  it('keeps the spinner and elapsed time moving between polls on a terminal', async () => {
    const s = stream(true);
    let now = 0;
    const p = new Progress(s, 'VM x', () => now, 5);
    p.update('provisioning', 1000);
    now = 700;
    await new Promise((r) => setTimeout(r, 30));
    p.finish('done');
    const redraws = s.writes.filter((w) => w.includes('provisioning'));
    expect(redraws.length).toBeGreaterThan(1);
    expect(redraws[redraws.length - 1]).toContain('(1.7s)');
    expect(new Set(redraws.map((w) => w.slice(4, 5))).size).toBeGreaterThan(1); // the spinner frame changes
  });
});
