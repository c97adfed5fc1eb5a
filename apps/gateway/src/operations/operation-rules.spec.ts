import { actionConflict, actionStarted, createOperationOutcome, isFinished } from './operation-rules';

describe('actionConflict (the 409 decision)', () => {
  it('allows what the state machine allows', () => {
    expect(actionConflict('stop', 'running')).toBeNull();
    expect(actionConflict('start', 'stopped')).toBeNull();
    expect(actionConflict('resume', 'suspended')).toBeNull();
    expect(actionConflict('reboot', 'running')).toBeNull();
    expect(actionConflict('delete', 'failed')).toBeNull();
    expect(actionConflict('delete', 'requested')).toBeNull();
    expect(actionConflict('force-stop', 'stopping')).toBeNull();
  });

  it('refuses the rest with the state in the body', () => {
    expect(actionConflict('resume', 'running')).toEqual({ statusCode: 409, error: 'Conflict', message: 'cannot resume a VM that is running', state: 'running' });
    expect(actionConflict('start', 'running')?.message).toBe('cannot start a VM that is running');
    expect(actionConflict('suspend', 'stopped')?.state).toBe('stopped');
    expect(actionConflict('delete', 'deleted')?.message).toBe('cannot delete a VM that is deleted');
    expect(actionConflict('delete', 'deleting')).not.toBeNull();
    expect(actionConflict('stop', 'migrating')).not.toBeNull();
    expect(actionConflict('reboot', 'provisioning')).not.toBeNull();
  });
});

describe('createOperationOutcome', () => {
  it('succeeds when the VM runs and fails with its reason', () => {
    expect(createOperationOutcome('running', null)).toEqual({ status: 'succeeded', error: null });
    expect(createOperationOutcome('failed', 'no valid host among 2 hosts')).toEqual({ status: 'failed', error: 'no valid host among 2 hosts' });
    expect(createOperationOutcome('failed', null)?.status).toBe('failed');
    expect(createOperationOutcome('deleted', null)).toEqual({ status: 'failed', error: 'the VM was deleted before it was running' });
  });

  it('is running while the VM is placed or built, unchanged otherwise', () => {
    expect(createOperationOutcome('scheduled', null)).toEqual({ status: 'running', error: null });
    expect(createOperationOutcome('provisioning', null)?.status).toBe('running');
    expect(createOperationOutcome('requested', null)).toBeNull();
  });

  it('knows the final statuses', () => {
    expect(isFinished('succeeded')).toBe(true);
    expect(isFinished('failed')).toBe(true);
    expect(isFinished('pending')).toBe(false);
    expect(isFinished('running')).toBe(false);
  });
});

describe('actionStarted', () => {
  it("is the action's in-between state", () => {
    expect(actionStarted('stop', 'stopping')).toBe(true);
    expect(actionStarted('delete', 'deleting')).toBe(true);
    expect(actionStarted('stop', 'running')).toBe(false);
    expect(actionStarted('reboot', 'running')).toBe(false);
    expect(actionStarted('start', 'running')).toBe(false);
  });
});
