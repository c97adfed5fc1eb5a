/**
 * The only way a remote command line is made: every argument single-quoted for the remote POSIX shell.
 * Inside single quotes nothing is special except the quote itself, which becomes '\'' (close, escaped
 * quote, reopen). NUL cannot be passed through a shell at all, so it is refused.
 */
export function quoteArg(arg: string): string {
  if (typeof arg !== 'string') throw new TypeError(`argument must be a string, got ${typeof arg}`);
  if (arg.includes('\0')) throw new Error('argument contains a NUL byte');
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function quoteArgv(argv: readonly string[]): string {
  if (!Array.isArray(argv) || argv.length === 0) throw new Error('argv must be a non-empty array');
  return argv.map(quoteArg).join(' ');
}

/** A short, readable rendering of argv for spans and logs (not for execution). */
export function describeArgv(argv: readonly string[], max = 300): string {
  const s = argv.map((a) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(a) ? a : quoteArg(a))).join(' ');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
