import { getMetadataStorage } from 'class-validator';
// class-transformer keeps @Type() targets here; used to document nested payload fields.
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { defaultMetadataStorage } = require('class-transformer/cjs/storage');
import { EventClasses } from './registry';
import { Rpc, Streams, Subject, Subjects, DEAD_LETTER_PREFIX } from './subjects';

export interface SubjectDoc {
  publishers: string[];
  consumers: string[];
  /** What a subscriber may rely on. */
  guarantee: string;
  description: string;
}

const ONCE = 'JetStream, at-least-once; consumers are idempotent (event id)';

/** Who publishes and who consumes each subject: the public contract of the bus. */
export const EventCatalog: Record<Subject, SubjectDoc> = {
  [Subjects.VmActionRequested]: { publishers: ['gateway'], consumers: ['provisioner'], guarantee: ONCE, description: 'A client asked for a lifecycle action (start, stop, force-stop, reboot, suspend, resume, delete); it passed the state machine.' },
  [Subjects.VmOperationFinished]: { publishers: ['provisioner'], consumers: ['gateway'], guarantee: ONCE, description: 'An action finished: succeeded or failed with the reason, and the VM state after it.' },
  [Subjects.HostRemoved]: { publishers: ['provisioner'], consumers: ['gateway', 'scheduler', 'metrics-collector'], guarantee: ONCE, description: 'A host (running no VM) was removed from the platform.' },
  [Subjects.VmRequested]: { publishers: ['gateway'], consumers: ['scheduler'], guarantee: ONCE, description: 'A client asked for a VM (accepted, validated, recorded).' },
  [Subjects.VmScheduled]: { publishers: ['scheduler'], consumers: ['provisioner', 'gateway'], guarantee: ONCE, description: 'Capacity was claimed on a host; the provisioner builds the VM there.' },
  [Subjects.VmScheduleFailed]: { publishers: ['scheduler'], consumers: ['gateway'], guarantee: ONCE, description: 'No host can take the VM; the reason says how many hosts each filter removed.' },
  [Subjects.VmStateChanged]: { publishers: ['provisioner', 'migrator'], consumers: ['gateway', 'scheduler'], guarantee: `${ONCE}; ordered per VM by generation`, description: 'The VM moved to a new state (see docs/vm-states.md).' },
  [Subjects.VmDeleted]: { publishers: ['provisioner'], consumers: ['gateway', 'scheduler'], guarantee: ONCE, description: 'The VM is gone from its host; its capacity is released.' },
  [Subjects.HostRegistered]: { publishers: ['provisioner'], consumers: ['scheduler', 'gateway', 'metrics-collector'], guarantee: ONCE, description: 'A host was discovered over SSH and registered (or re-registered).' },
  [Subjects.HostMetrics]: { publishers: ['metrics-collector'], consumers: ['scheduler', 'metrics-collector (history)'], guarantee: 'JetStream, kept 1 h; a late round may be skipped by consumers', description: 'One collection round of one host; a value that could not be read is absent, never 0.' },
  [Subjects.VmMetrics]: { publishers: ['metrics-collector'], consumers: ['scheduler (planner)'], guarantee: 'JetStream, kept 1 h', description: 'Per-VM figures of one collection round of one host.' },
  [Subjects.HostStateChanged]: { publishers: ['metrics-collector', 'provisioner', 'scheduler'], consumers: ['scheduler', 'gateway', 'provisioner', 'metrics-collector'], guarantee: ONCE, description: 'A host went up, down, disabled or into maintenance, with the reason.' },
  [Subjects.ImageRegistered]: { publishers: ['provisioner'], consumers: ['gateway'], guarantee: ONCE, description: 'An image was registered (format detected, checksum recorded).' },
  [Subjects.MigrationRequested]: { publishers: ['gateway', 'scheduler (planner, maintenance drain)'], consumers: ['scheduler', 'gateway'], guarantee: ONCE, description: 'A client (or the planner) asked to move a VM (POST /v1/vms/:id/migrate); the scheduler validates or chooses the target and claims capacity there.' },
  [Subjects.MigrationPlanned]: { publishers: ['scheduler'], consumers: ['migrator', 'gateway'], guarantee: ONCE, description: 'Capacity is claimed on the target (the source keeps its claim until the end): the migrator may start. Reason says why this target.' },
  [Subjects.MigrationStarted]: { publishers: ['migrator'], consumers: ['gateway', 'provisioner'], guarantee: ONCE, description: 'The job started on the source host: the strategy that runs (auto resolved), why, and the cost model predictions. The VM shows `migrating`.' },
  [Subjects.MigrationProgress]: { publishers: ['migrator'], consumers: ['gateway'], guarantee: 'JetStream, kept 1 h', description: 'Progress of a running migration, about every second (libvirt job statistics).' },
  [Subjects.MigrationCompleted]: { publishers: ['migrator'], consumers: ['gateway', 'scheduler', 'provisioner'], guarantee: ONCE, description: 'The destination confirmed the VM runs there (commitment); figures from libvirt job statistics, with the prediction beside them. The source claim is released.' },
  [Subjects.MigrationFailed]: { publishers: ['migrator', 'scheduler'], consumers: ['gateway', 'scheduler', 'provisioner'], guarantee: ONCE, description: 'The migration failed or was cancelled (cancelled=true); the VM runs on exactly one host, vmHostId; leftovers on the other host were cleaned.' },
  [Subjects.MigrationControl]: { publishers: ['gateway', 'scheduler'], consumers: ['migrator'], guarantee: ONCE, description: 'A user asked to cancel or force-complete a migration (or the scheduler cancels one whose hold timed out: no end within SCHEDULER_MIGRATION_TIMEOUT_*).' },
  [Subjects.VmQueued]: { publishers: ['scheduler'], consumers: ['gateway'], guarantee: ONCE, description: 'No host fits now; the request waits in the scheduler queue (GET /v1/scheduler/queue) until capacity frees up or its deadline passes.' },
  [Subjects.VmPreemptRequested]: { publishers: ['scheduler'], consumers: ['provisioner', 'gateway'], guarantee: ONCE, description: 'A preemptible VM lost its capacity (higher-priority request or opening reservation); the provisioner stops it (action stop); action migrate: the claim already moved to targetHostId and migration migrationId (migration.planned, origin preemption) moves it, with a stop if that migration fails.' },
  [Subjects.ReservationCreated]: { publishers: ['scheduler'], consumers: [], guarantee: ONCE, description: 'An advance reservation was accepted; its capacity is held for the window.' },
  [Subjects.ReservationCancelled]: { publishers: ['scheduler'], consumers: [], guarantee: ONCE, description: 'A reservation was cancelled; its held capacity is free again.' },
  [Subjects.ReservationEnded]: { publishers: ['scheduler'], consumers: [], guarantee: ONCE, description: 'A reservation window ended; its VMs became ordinary (or were stopped, per stopVmsAtEnd).' },
};

interface Field {
  name: string;
  rules: string[];
  optional: boolean;
}

/** Fields of a payload class and their rules, read from class-validator's own metadata. */
export function payloadFields(cls: Function, prefix = ''): Field[] {
  const metas = getMetadataStorage().getTargetValidationMetadatas(cls, '', true, false);
  const byName = new Map<string, Field>();
  for (const m of metas) {
    const f = byName.get(m.propertyName) ?? { name: prefix + m.propertyName, rules: [], optional: false };
    if (m.type === 'conditionalValidation') f.optional = true;
    else if (m.type === 'nestedValidation') {
      if (!f.rules.includes('object')) f.rules.push(m.each ? 'array of objects' : 'object');
    }
    else {
      const name = m.name ?? m.type;
      const c = getMetadataStorage().getTargetValidatorConstraints(m.constraintCls);
      const label = c[0]?.name ?? name;
      const args = (m.constraints ?? [])
        .filter((x: unknown) => x !== undefined && (typeof x !== 'object' || x instanceof RegExp))
        .map((x: unknown) => String(x).replace(/\|/g, '\\|'));
      const rule = label && label !== 'customValidation' ? `${label}${args.length ? `(${args.join(', ')})` : ''}` : m.type;
      if (rule && !f.rules.includes(rule)) f.rules.push(rule);
    }
    byName.set(m.propertyName, f);
  }
  const out: Field[] = [];
  for (const f of byName.values()) {
    out.push(f);
    const nested = defaultMetadataStorage.findTypeMetadata(cls, f.name.slice(prefix.length));
    const target = nested?.typeFunction?.();
    if (target && f.rules.some((r) => r.includes('object'))) out.push(...payloadFields(target, `${f.name}${f.rules.includes('array of objects') ? '[]' : ''}.`));
  }
  return out;
}

/** docs/events.md, generated from the contracts (a unit test keeps the file equal to this). */
export function renderEventsDoc(): string {
  const out: string[] = [];
  out.push('# Bus events (generated from libs/contracts — do not edit by hand)');
  out.push('');
  out.push('Regenerate with `npm run docs:events`. Every message is JSON with `schemaVersion` (1), `eventId` (UUID, also the');
  out.push('JetStream message id, so duplicates within 2 minutes are dropped by the stream) and `occurredAt` (ISO 8601).');
  out.push('Headers carry the W3C trace context (`traceparent`, `tracestate`). Unknown fields are ignored by consumers,');
  out.push(`so fields may be added within a schema version. A message that fails validation, or fails past its consumer's`);
  out.push(`delivery limit, is republished on \`${DEAD_LETTER_PREFIX}.<consumer>.<subject>\` with the reason (header`);
  out.push('`Minicloud-Dead-Reason`, and a JSON body `{reason, subject, consumer, deliveries, payload}`).');
  out.push('');
  out.push('## Streams');
  out.push('');
  out.push('| stream | subjects | kept | purpose |');
  out.push('|---|---|---|---|');
  for (const s of Streams) out.push(`| ${s.name} | ${s.subjects.map((x) => `\`${x}\``).join(', ')} | ${Math.round(s.maxAgeSeconds / 3600)} h | ${s.description} |`);
  out.push('');
  out.push('## Subjects');
  out.push('');
  out.push('| subject | publishers | consumers | delivery |');
  out.push('|---|---|---|---|');
  for (const s of Object.values(Subjects)) {
    const d = EventCatalog[s];
    out.push(`| \`${s}\` | ${d.publishers.join(', ')} | ${d.consumers.join(', ') || '(any subscriber)'} | ${d.guarantee} |`);
  }
  out.push('');
  for (const s of Object.values(Subjects)) {
    const d = EventCatalog[s];
    const cls = EventClasses[s];
    out.push(`### \`${s}\` — ${cls.name}`);
    out.push('');
    out.push(d.description);
    out.push('');
    out.push('| field | required | rules |');
    out.push('|---|---|---|');
    for (const f of payloadFields(cls)) out.push(`| \`${f.name}\` | ${f.optional ? 'no' : 'yes'} | ${f.rules.join(', ')} |`);
    out.push('');
  }
  out.push('## Request/reply (core NATS, queue group of the answering service)');
  out.push('');
  out.push('Replies are `{ "ok": true, "result": … }` or `{ "ok": false, "error": { "status", "message" } }` (HTTP-like status).');
  out.push('');
  for (const r of Object.values(Rpc)) out.push(`- \`${r}\``);
  out.push('');
  return out.join('\n');
}
