import { readFile } from 'node:fs/promises';

/**
 * Names of user and group ids. The files adapter reads passwd/group files; an LDAP adapter
 * implements the same interface (lookups must be synchronous and cached: enrich calls them per
 * event, so an adapter refreshes in the background like the files one does).
 */
export interface UserDirectory {
  userName(uid: number): string | undefined;
  groupName(gid: number): string | undefined;
  /** Re-reads the source; keeps the previous tables when that fails. */
  reload(): Promise<void>;
  close(): void;
}

/** `name:password:id:...` lines into id → name; comments, blanks and malformed lines are skipped. Pure. */
export function parseIdFile(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const fields = line.split(':');
    const id = Number(fields[2]);
    if (fields.length < 3 || !fields[0] || !/^\d+$/.test(fields[2] ?? '')) continue;
    if (!names.has(id)) names.set(id, fields[0]); // first entry wins, as getpwuid does
  }
  return names;
}

/** The files adapter; rejects when a file cannot be read at start. */
export async function createFileDirectory(options: {
  readonly passwdFile: string;
  readonly groupFile: string;
  readonly reloadMs: number;
  readonly onError: (error: unknown) => void;
}): Promise<UserDirectory> {
  const read = async () => ({
    users: parseIdFile(await readFile(options.passwdFile, 'utf8')),
    groups: parseIdFile(await readFile(options.groupFile, 'utf8')),
  });
  let tables = await read();
  const reload = async () => {
    try {
      tables = await read();
    } catch (error) {
      options.onError(error);
    }
  };
  const timer =
    options.reloadMs > 0 ? setInterval(() => void reload(), options.reloadMs) : undefined;
  timer?.unref();
  return {
    userName: (uid) => tables.users.get(uid),
    groupName: (gid) => tables.groups.get(gid),
    reload,
    close: () => clearInterval(timer),
  };
}
