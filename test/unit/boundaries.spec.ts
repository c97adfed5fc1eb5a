/**
 * The architecture's two hard rules, checked on the source: apps never import each other, and a service's SQL and
 * entities only name its own schema.
 */
import { readdirSync, readFileSync, statSync } from 'fs';
import { join, relative } from 'path';

const ROOT = join(__dirname, '..', '..');
const APPS: Record<string, string> = {
  gateway: 'gateway',
  scheduler: 'scheduler',
  provisioner: 'provisioner',
  'metrics-collector': 'metrics',
  migrator: 'migrator',
};
const SCHEMAS = new Set(Object.values(APPS));

function files(dir: string): string[] {
  let out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out = out.concat(files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const appsPresent = Object.keys(APPS).filter((a) => {
  try {
    return statSync(join(ROOT, 'apps', a, 'src')).isDirectory();
  } catch {
    return false;
  }
});

describe('architecture boundaries', () => {
  it('has all five services', () => {
    expect(appsPresent.sort()).toEqual(Object.keys(APPS).sort());
  });

  it.each([...Object.keys(APPS), 'cli'])('%s imports no other app', (app) => {
    const offenders: string[] = [];
    for (const f of files(join(ROOT, 'apps', app, 'src'))) {
      const src = readFileSync(f, 'utf8');
      for (const m of src.matchAll(/from\s+'([^']+)'|require\('([^']+)'\)/g)) {
        const spec = m[1] ?? m[2];
        if (!spec.startsWith('.')) {
          if (/^(@minicloud\/(gateway|scheduler|provisioner|metrics-collector|migrator|cli)|apps\/)/.test(spec)) offenders.push(`${relative(ROOT, f)}: ${spec}`);
          continue;
        }
        const target = relative(join(ROOT, 'apps'), join(f, '..', spec));
        if (!target.startsWith('..') && !target.startsWith(app + '/') && target !== app) offenders.push(`${relative(ROOT, f)}: ${spec}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it.each(Object.entries(APPS))('%s touches only its own schema (%s)', (app, schema) => {
    const offenders: string[] = [];
    for (const f of files(join(ROOT, 'apps', app, 'src'))) {
      if (f.endsWith('.spec.ts')) continue;
      const src = readFileSync(f, 'utf8');
      const refs = [
        ...[...src.matchAll(/\b(?:FROM|INTO|UPDATE|JOIN|TABLE(?:\s+IF\s+(?:NOT\s+)?EXISTS)?|ON)\s+"?([a-z_]+)"?\.[a-z_"]/g)].map((m) => m[1]),
        ...[...src.matchAll(/schema:\s*'([a-z_]+)'/g)].map((m) => m[1]),
      ];
      for (const r of refs) if (SCHEMAS.has(r) && r !== schema) offenders.push(`${relative(ROOT, f)}: ${r}`);
    }
    expect(offenders).toEqual([]);
  });
});
