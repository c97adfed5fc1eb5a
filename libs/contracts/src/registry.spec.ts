import { randomUUID } from 'crypto';
import { ContractViolation, makeEvent, validateEvent, Subjects, EventClasses, Streams, canTransition } from './index';

const vmRequested = () =>
  makeEvent(Subjects.VmRequested, {
    vmId: randomUUID(),
    name: 'web-1',
    resources: { vcpus: 1, memoryMiB: 256, diskGiB: 1 },
    image: { id: randomUUID(), name: 'minicloud-lab', checksum: 'a'.repeat(64) },
  });

describe('bus contracts', () => {
  it('accepts a well-formed vm.requested and stamps the envelope', () => {
    const e = vmRequested();
    const v = validateEvent(Subjects.VmRequested, JSON.parse(JSON.stringify(e)));
    expect(v.schemaVersion).toBe(1);
    expect(v.resources.memoryMiB).toBe(256);
    expect(Date.parse(v.occurredAt)).not.toBeNaN();
  });

  it('names every bad field with its reason', () => {
    const e = { ...vmRequested(), name: 'web;rm -rf /', resources: { vcpus: 0, memoryMiB: 256, diskGiB: 1 } };
    try {
      validateEvent(Subjects.VmRequested, e);
      throw new Error('expected a violation');
    } catch (err) {
      expect(err).toBeInstanceOf(ContractViolation);
      const problems = (err as ContractViolation).problems.join('\n');
      expect(problems).toMatch(/^name: name must be/m);
      expect(problems).toMatch(/^resources\.vcpus: vcpus must not be less than 1/m);
    }
  });

  it('rejects an unknown schema version and non-objects', () => {
    expect(() => validateEvent(Subjects.VmRequested, { ...vmRequested(), schemaVersion: 2 })).toThrow(/schemaVersion must be 1/);
    expect(() => validateEvent(Subjects.VmRequested, 'hello')).toThrow(/JSON object/);
    expect(() => validateEvent(Subjects.VmRequested, [1])).toThrow(/JSON object/);
  });

  it('drops unknown fields on the bus (a newer publisher may add some)', () => {
    const v = validateEvent(Subjects.VmRequested, { ...vmRequested(), addedLater: true }) as unknown as Record<string, unknown>;
    expect(v.addedLater).toBeUndefined();
  });

  it('has a class for every subject and a stream for every persisted subject', () => {
    for (const s of Object.values(Subjects)) {
      expect(EventClasses[s]).toBeDefined();
      expect(Streams.some((st) => st.subjects.includes(s))).toBe(true);
    }
    const all = Streams.flatMap((s) => s.subjects);
    expect(new Set(all).size).toBe(all.length);
  });
});

describe('VM state machine', () => {
  it('allows the create path and refuses going back from deleted', () => {
    expect(canTransition('requested', 'scheduled')).toBe(true);
    expect(canTransition('scheduled', 'provisioning')).toBe(true);
    expect(canTransition('provisioning', 'running')).toBe(true);
    expect(canTransition('deleted', 'running')).toBe(false);
    expect(canTransition('running', 'requested')).toBe(false);
  });
});
