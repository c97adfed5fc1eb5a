import { createHash } from 'crypto';

/**
 * A name-based (v5-style) UUID for an event the scheduler may have to publish again: the same decision always
 * gets the same event id, so JetStream's duplicate window and every consumer's inbox drop the repeat.
 */
export function decisionEventId(kind: string, vmId: string, attempt: number | string = 1): string {
  const b = createHash('sha1').update(`minicloud-scheduler:${kind}:${vmId}:${attempt}`).digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
