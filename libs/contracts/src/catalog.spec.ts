import { readFileSync } from 'fs';
import { join } from 'path';
import { EventCatalog, payloadFields, renderEventsDoc } from './catalog';
import { Subjects, VmRequestedEvent } from './index';

describe('the public events document', () => {
  it('lists every subject with publishers and a delivery guarantee', () => {
    for (const s of Object.values(Subjects)) {
      expect(EventCatalog[s].publishers.length).toBeGreaterThan(0);
      expect(EventCatalog[s].guarantee).toMatch(/JetStream/);
    }
  });

  it('reads payload fields and rules from the validation metadata', () => {
    const fields = payloadFields(VmRequestedEvent);
    const name = fields.find((f) => f.name === 'name');
    expect(name?.optional).toBe(false);
    expect(fields.find((f) => f.name === 'userData')?.optional).toBe(true);
    expect(fields.find((f) => f.name === 'vmId')?.rules.join()).toMatch(/isUuid/i);
  });

  it('docs/events.md is what the contracts say (run `npm run docs:events` after changing them)', () => {
    const file = readFileSync(join(__dirname, '..', '..', '..', 'docs', 'events.md'), 'utf8');
    expect(file).toBe(renderEventsDoc());
  });
});
