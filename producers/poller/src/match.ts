/**
 * Host and service selection from the config: exact names, globs (`*`, `?`) or `/regex/`.
 * An empty list selects everything.
 */
export type Matcher = (name: string) => boolean;

/** Compiles a pattern list once; the matcher is pure. */
export function createMatcher(patterns: readonly string[]): Matcher {
  if (patterns.length === 0) return () => true;
  const exact = new Set<string>();
  const regexes: RegExp[] = [];
  for (const p of patterns) {
    if (p.length > 1 && p.startsWith('/') && p.endsWith('/'))
      regexes.push(new RegExp(p.slice(1, -1)));
    else if (/[*?]/.test(p))
      regexes.push(
        new RegExp(
          `^${p
            .replace(/[.+^${}()|[\]\\]/g, '\\$&')
            .replace(/\*/g, '.*')
            .replace(/\?/g, '.')}$`,
        ),
      );
    else exact.add(p);
  }
  return (name) => exact.has(name) || regexes.some((r) => r.test(name));
}
