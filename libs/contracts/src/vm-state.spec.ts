import { readFileSync } from 'fs';
import { join } from 'path';
import { allowedTransitions, VmStates } from './vm-state';

describe('docs/vm-states.md', () => {
  it('lists exactly the transitions the code allows', () => {
    const doc = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'vm-states.md'), 'utf8');
    for (const s of VmStates) {
      const row = doc.split('\n').find((l) => l.startsWith(`| ${s} |`));
      expect(row).toBeDefined();
      const cell = row!.split('|')[2];
      const documented = cell.includes('—') ? [] : cell.split(',').map((x) => x.trim().split(' ')[0]);
      expect(documented.sort()).toEqual([...allowedTransitions(s)].sort());
    }
  });
});

import { actionAllowed, ActionRules } from './vm-state';

describe('lifecycle actions', () => {
  it('refuses to resume a running VM and to start a running one', () => {
    expect(actionAllowed('resume', 'running')).toBe(false);
    expect(actionAllowed('start', 'running')).toBe(false);
    expect(actionAllowed('resume', 'suspended')).toBe(true);
  });

  it('never allows an action on a deleted VM, and every allowed path is legal in the state machine', () => {
    for (const a of Object.keys(ActionRules) as (keyof typeof ActionRules)[]) {
      expect(actionAllowed(a, 'deleted')).toBe(false);
      for (const s of ActionRules[a].from) expect(actionAllowed(a, s)).toBe(true);
    }
  });
});
