import { EntityManager } from 'typeorm';
import { rowsOf } from './sql';

const fake = (result: unknown) => ({ query: async () => result }) as unknown as EntityManager;

describe('rowsOf', () => {
  it('returns SELECT/INSERT rows as they are', async () => {
    expect(await rowsOf(fake([{ id: 'a' }, { id: 'b' }]), 'SELECT')).toEqual([{ id: 'a' }, { id: 'b' }]);
    expect(await rowsOf(fake([]), 'SELECT')).toEqual([]);
  });

  it('unwraps the [rows, affected] pair TypeORM returns for UPDATE ... RETURNING', async () => {
    expect(await rowsOf(fake([[{ id: 'a' }], 1]), 'UPDATE')).toEqual([{ id: 'a' }]);
    expect(await rowsOf(fake([[], 0]), 'UPDATE')).toEqual([]);
  });
});
