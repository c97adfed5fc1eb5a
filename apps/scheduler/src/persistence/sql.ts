/** Runs SQL and returns its rows (UPDATE/DELETE … RETURNING included): one helper for every service, in libs/database. */
export { rowsOf } from '@minicloud/database';
