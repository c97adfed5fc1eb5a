import { ArgumentMetadata, BadRequestException } from '@nestjs/common';
import { restValidationPipe } from '@minicloud/service-kit';
import { RegisterHostDto } from '../hosts/dto';
import { RegisterImageDto } from '../images/dto';
import { ConsoleQuery, CreateVmDto, ListVmsQuery, tagsProblem } from './dto';

const pipe = restValidationPipe();
const body = (cls: unknown): ArgumentMetadata => ({ type: 'body', metatype: cls as never });
const query = (cls: unknown): ArgumentMetadata => ({ type: 'query', metatype: cls as never });

async function problems(value: unknown, meta: ArgumentMetadata): Promise<{ field: string; reason: string }[]> {
  try {
    await pipe.transform(value, meta);
  } catch (e) {
    expect(e).toBeInstanceOf(BadRequestException);
    return ((e as BadRequestException).getResponse() as { errors: { field: string; reason: string }[] }).errors;
  }
  return [];
}

const good = { name: 'web-1', vcpus: 1, memoryMiB: 256, diskGiB: 2, image: 'minicloud-lab' };

describe('CreateVmDto', () => {
  it('accepts a minimal and a full request', async () => {
    expect(await problems(good, body(CreateVmDto))).toEqual([]);
    const full = {
      ...good,
      targetHost: 'hv1',
      sshKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHk2 me@laptop'],
      userData: '#cloud-config\npackages: [nginx]\n',
      tags: { team: 'web', 'app.kubernetes.io/name': 'x' },
    };
    const dto = (await pipe.transform(full, body(CreateVmDto))) as CreateVmDto;
    expect(dto).toBeInstanceOf(CreateVmDto);
    expect(dto.tags).toEqual(full.tags);
  });

  it('names each bad field: negative sizes, shell metacharacters, non-integers', async () => {
    const p = await problems({ ...good, name: 'web;rm -rf /', vcpus: -1, memoryMiB: 1.5, diskGiB: 0 }, body(CreateVmDto));
    const fields = p.map((e) => e.field);
    expect(fields).toEqual(expect.arrayContaining(['name', 'vcpus', 'memoryMiB', 'diskGiB']));
    expect(p.find((e) => e.field === 'name')?.reason).toMatch(/letters, digits/);
    expect(p.find((e) => e.field === 'vcpus')?.reason).toMatch(/not be less than 1/);
  });

  it('refuses strings for numbers (no silent conversion) and missing required fields', async () => {
    const p = await problems({ name: 'a', vcpus: '2' }, body(CreateVmDto));
    expect(p.map((e) => e.field)).toEqual(expect.arrayContaining(['vcpus', 'memoryMiB', 'diskGiB', 'image']));
  });

  it('takes storage local or shared and names anything else', async () => {
    expect(await problems({ ...good, storage: 'shared' }, body(CreateVmDto))).toEqual([]);
    expect(await problems({ ...good, storage: 'local' }, body(CreateVmDto))).toEqual([]);
    expect(await problems({ ...good, storage: 'nfs' }, body(CreateVmDto))).toEqual([{ field: 'storage', reason: 'storage must be one of: local, shared' }]);
  });

  it('refuses unknown fields', async () => {
    const p = await problems({ ...good, privileged: true }, body(CreateVmDto));
    expect(p).toEqual([{ field: 'privileged', reason: 'property privileged should not exist' }]);
  });

  it('limits userData to 64 KiB in bytes, not characters', async () => {
    expect(await problems({ ...good, userData: 'x'.repeat(65536) }, body(CreateVmDto))).toEqual([]);
    expect((await problems({ ...good, userData: 'x'.repeat(65537) }, body(CreateVmDto)))[0]).toEqual({ field: 'userData', reason: expect.stringMatching(/64 KiB/) });
    // 'é' is two bytes in UTF-8.
    expect((await problems({ ...good, userData: 'é'.repeat(40000) }, body(CreateVmDto)))[0]?.field).toBe('userData');
  });

  it('accepts only real one-line SSH public keys', async () => {
    const p = await problems({ ...good, sshKeys: ['ssh-ed25519 AAAA x\nssh-rsa BBBB evil', 'hello'] }, body(CreateVmDto));
    expect(p[0].field).toBe('sshKeys');
    expect(await problems({ ...good, sshKeys: 'ssh-ed25519 AAAA' }, body(CreateVmDto))).not.toEqual([]);
  });

  it('refuses image and host references with shell characters', async () => {
    const p = await problems({ ...good, image: '$(reboot)', targetHost: 'a b' }, body(CreateVmDto));
    expect(p.map((e) => e.field).sort()).toEqual(['image', 'targetHost']);
  });

  it('checks tags are a string→string map', async () => {
    expect((await problems({ ...good, tags: { a: 1 } }, body(CreateVmDto)))[0]).toEqual({ field: 'tags', reason: 'tag "a" must have a string value' });
    expect((await problems({ ...good, tags: ['a'] }, body(CreateVmDto)))[0]?.field).toBe('tags');
    expect(tagsProblem({ 'bad key': 'x' })).toMatch(/tag key/);
    expect(tagsProblem(Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])))).toMatch(/at most 50/);
    expect(tagsProblem({ ok: 'v' })).toBeNull();
  });
});

describe('query DTOs', () => {
  it('converts numeric query strings and checks ranges', async () => {
    const q = (await pipe.transform({ limit: '10', offset: '20', status: 'running' }, query(ListVmsQuery))) as ListVmsQuery;
    expect(q).toMatchObject({ limit: 10, offset: 20, status: 'running' });
    expect((await problems({ limit: '0' }, query(ListVmsQuery)))[0].field).toBe('limit');
    expect((await problems({ status: 'exploded' }, query(ListVmsQuery)))[0].reason).toMatch(/status must be one of/);
    expect((await problems({ lines: 'abc' }, query(ConsoleQuery)))[0].field).toBe('lines');
    expect((await problems({ lines: '10001' }, query(ConsoleQuery)))[0].field).toBe('lines');
  });
});

describe('host and image registration DTOs (contract rules + OpenAPI)', () => {
  it('validates with the contract rules', async () => {
    expect(await problems({ address: '10.254.7.11', sshPort: 22, sshUser: 'root', name: 'hv1' }, body(RegisterHostDto))).toEqual([]);
    const p = await problems({ address: '10.254.7.11; reboot', sshPort: 70000, sshUser: 'Root!' }, body(RegisterHostDto));
    expect(p.map((e) => e.field).sort()).toEqual(['address', 'sshPort', 'sshUser']);
    expect(await problems({ name: 'img', path: '/srv/images/a.qcow2' }, body(RegisterImageDto))).toEqual([]);
    expect((await problems({ name: 'img', path: '../etc/passwd' }, body(RegisterImageDto)))[0].field).toBe('path');
  });
});

describe('CreateVmDto sizing: flavor XOR explicit sizes', () => {
  const base = { name: 'web-1', image: 'minicloud-lab' };
  it('accepts a flavor alone or all three sizes', async () => {
    expect(await problems({ ...base, flavor: 'm1.small' }, body(CreateVmDto))).toEqual([]);
    expect(await problems({ ...base, vcpus: 1, memoryMiB: 256, diskGiB: 1 }, body(CreateVmDto))).toEqual([]);
  });

  it('refuses both, and neither, with field reasons', async () => {
    expect(await problems({ ...base, flavor: 'm1.small', vcpus: 2 }, body(CreateVmDto))).toEqual([{ field: 'flavor', reason: 'give flavor or vcpus/memoryMiB/diskGiB, not both' }]);
    expect([...new Set((await problems(base, body(CreateVmDto))).map((e) => e.field))].sort()).toEqual(['diskGiB', 'memoryMiB', 'vcpus']);
    expect((await problems({ ...base, flavor: 'x;reboot' }, body(CreateVmDto))).map((e) => e.field)).toEqual(['flavor']);
  });
});

describe('ListVmsQuery tag filter', () => {
  it('accepts key=value and key, refuses bad keys', async () => {
    expect(await problems({ tag: 'team=web' }, query(ListVmsQuery))).toEqual([]);
    expect(await problems({ tag: ['team', 'env=prod'] }, query(ListVmsQuery))).toEqual([]);
    expect((await problems({ tag: "te'am=x" }, query(ListVmsQuery)))[0].field).toBe('tag');
  });
});
