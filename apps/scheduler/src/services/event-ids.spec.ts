import { isUUID } from 'class-validator';
import { decisionEventId } from './event-ids';

describe('decisionEventId', () => {
  const vm = '6f1c2b9e-3d4a-4b5c-8d6e-7f8091a2b3c4';

  it('is a valid UUID, stable for the same decision', () => {
    const id = decisionEventId('vm.scheduled', vm);
    expect(isUUID(id)).toBe(true);
    expect(decisionEventId('vm.scheduled', vm)).toBe(id);
  });

  it('differs per kind, VM and attempt', () => {
    const ids = new Set([
      decisionEventId('vm.scheduled', vm),
      decisionEventId('vm.schedule-failed', vm),
      decisionEventId('vm.scheduled', vm, 2),
      decisionEventId('vm.scheduled', '0f1c2b9e-3d4a-4b5c-8d6e-7f8091a2b3c4'),
    ]);
    expect(ids.size).toBe(4);
  });
});
