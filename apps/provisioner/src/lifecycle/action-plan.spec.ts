import { canTransition, VmActions, VmStates } from '@minicloud/contracts';
import { domainMatches, planAction, planResume, vmStateOfDomain } from './action-plan';

describe('planAction', () => {
  it('plans each action from a state it is allowed in', () => {
    expect(planAction('stop', 'running')).toEqual({ ok: true, plan: { action: 'stop', during: 'stopping', to: 'stopped', expectDomain: 'shutoff' } });
    expect(planAction('start', 'stopped')).toEqual({ ok: true, plan: { action: 'start', during: undefined, to: 'running', expectDomain: 'running' } });
    expect(planAction('force-stop', 'stopping')).toMatchObject({ ok: true, plan: { to: 'stopped', expectDomain: 'shutoff' } });
    expect(planAction('reboot', 'running')).toMatchObject({ ok: true, plan: { to: 'running', expectDomain: 'running' } });
    expect(planAction('suspend', 'running')).toMatchObject({ ok: true, plan: { to: 'suspended', expectDomain: 'paused' } });
    expect(planAction('resume', 'suspended')).toMatchObject({ ok: true, plan: { to: 'running' } });
    expect(planAction('delete', 'failed')).toMatchObject({ ok: true, plan: { during: 'deleting', to: 'deleted', expectDomain: 'absent' } });
  });

  it('refuses illegal ones with a reason naming the current state', () => {
    const r = planAction('start', 'running');
    expect(r).toEqual({ ok: false, reason: 'cannot start a VM that is running (start is allowed from: stopped)' });
    expect(planAction('resume', 'stopped')).toMatchObject({ ok: false, reason: expect.stringContaining('that is stopped') });
    expect(planAction('delete', 'deleted')).toMatchObject({ ok: false, reason: expect.stringContaining('that is deleted') });
    expect(planAction('suspend', 'migrating')).toMatchObject({ ok: false });
  });

  it('never plans a transition the state machine forbids', () => {
    for (const a of VmActions) for (const s of VmStates) {
      const r = planAction(a, s);
      if (!r.ok) continue;
      const path = [s, ...(r.plan.during ? [r.plan.during] : []), r.plan.to].filter((x, i, all) => i === 0 || x !== all[i - 1]);
      for (let i = 1; i < path.length; i++) expect(`${path[i - 1]}→${path[i]}:${canTransition(path[i - 1], path[i])}`).toBe(`${path[i - 1]}→${path[i]}:true`);
    }
  });

  it('carries on an interrupted action only from its own during state', () => {
    expect(planResume('stop', 'stopping')).toMatchObject({ to: 'stopped' });
    expect(planResume('delete', 'deleting')).toMatchObject({ to: 'deleted' });
    expect(planResume('stop', 'running')).toBeUndefined();
    expect(planResume('start', 'stopping')).toBeUndefined();
  });

  it('maps domain states to VM states', () => {
    expect(vmStateOfDomain('running')).toBe('running');
    expect(vmStateOfDomain('blocked')).toBe('running');
    expect(vmStateOfDomain('paused')).toBe('suspended');
    expect(vmStateOfDomain('shutoff')).toBe('stopped');
    expect(vmStateOfDomain('shutdown')).toBeUndefined();
    expect(vmStateOfDomain('absent')).toBeUndefined();
    expect(domainMatches('blocked', 'running')).toBe(true);
    expect(domainMatches('running', 'shutoff')).toBe(false);
  });
});
