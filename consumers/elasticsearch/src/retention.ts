/**
 * Retention by deleting whole daily indices (no ILM on this Elasticsearch, and deleting an index
 * is cheaper than deleting documents). Pure.
 */

const DAILY = /^(.*)-(\d{4})\.(\d{2})\.(\d{2})$/;

/**
 * The indices among `names` that belong to `prefix` (`<prefix>-<family>-YYYY.MM.DD`) and whose day
 * ended more than `retentionDays` days before `nowMs`. `retentionDays` 0 keeps everything.
 */
export function expiredIndices(
  names: readonly string[],
  prefix: string,
  nowMs: number,
  retentionDays: number,
): string[] {
  if (retentionDays <= 0) return [];
  const today = Date.UTC(
    new Date(nowMs).getUTCFullYear(),
    new Date(nowMs).getUTCMonth(),
    new Date(nowMs).getUTCDate(),
  );
  const oldestKept = today - retentionDays * 86_400_000;
  return names.filter((name) => {
    const match = DAILY.exec(name);
    if (!match || !match[1]!.startsWith(`${prefix}-`)) return false;
    if (match[1]!.slice(prefix.length + 1).includes('-')) return false; // another prefix's family
    const day = Date.UTC(Number(match[2]), Number(match[3]) - 1, Number(match[4]));
    return Number.isFinite(day) && day < oldestKept;
  });
}
