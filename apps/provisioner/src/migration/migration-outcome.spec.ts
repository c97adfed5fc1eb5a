import { migrationOutcome } from './migration-outcome';

describe('migrationOutcome', () => {
  it('follows what the host says the domain is', () => {
    expect(migrationOutcome('running', 'running', 'h2', 'mc-x')).toEqual({ path: ['running'] });
    expect(migrationOutcome('running', 'blocked', 'h2', 'mc-x')).toEqual({ path: ['running'] });
    expect(migrationOutcome('stopped', 'shutoff', 'h1', 'mc-x')).toEqual({ path: ['stopped'] });
    expect(migrationOutcome('running', 'shutoff', 'h1', 'mc-x')).toEqual({ path: ['stopped'], note: 'its domain is shut off on h1' });
    expect(migrationOutcome('running', 'paused', 'h1', 'mc-x')).toEqual({ path: ['running', 'suspended'], note: 'its domain is paused on h1' });
    expect(migrationOutcome('running', 'absent', 'h1', 'mc-x')).toEqual({ path: ['failed'], note: 'its domain mc-x is not on h1' });
  });

  it('goes back to the state before the migration when the host cannot say', () => {
    expect(migrationOutcome('running', undefined, 'h1', 'mc-x')).toEqual({ path: ['running'] });
    expect(migrationOutcome('stopped', undefined, 'h1', 'mc-x')).toEqual({ path: ['stopped'] });
    expect(migrationOutcome('stopped', 'shutdown', 'h1', 'mc-x')).toEqual({ path: ['stopped'] });
    expect(migrationOutcome(null, undefined, 'h1', 'mc-x')).toEqual({ path: ['running'] });
  });
});
