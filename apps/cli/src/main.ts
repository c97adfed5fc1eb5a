#!/usr/bin/env node
/** minicloud: the command-line client of the minicloud REST API. See docs/cli.md. */
import { readFileSync } from 'fs';
import { run } from './cli';

run(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  readFile: (p) => readFileSync(p === '-' ? 0 : p, 'utf8'),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`minicloud: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exitCode = 3;
  },
);
