import type { PathClass } from './config.js';

/** The class of a binary by its path: the first rule whose prefix starts it, else `other`. Pure. */
export function classifyPath(
  path: string,
  rules: ReadonlyArray<{ readonly prefix: string; readonly class: PathClass }>,
): PathClass {
  for (const rule of rules) if (path.startsWith(rule.prefix)) return rule.class;
  return 'other';
}
