import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseKeyText } from '@vigil/pipeline/signature';

export { parseKeyText };

/** HMAC keys by key id, read from files; rotation = a new file (new key id) next to the old one. */
export interface KeyRing {
  /** The key of an id, or undefined when this verifier does not hold it. */
  get(keyId: string): Buffer | undefined;
  /** Key ids held now. */
  ids(): string[];
  /** Reads the directory again; keeps the previous keys if it fails. Resolves when done. */
  reload(): Promise<void>;
  /** Stops periodic reloads. */
  close(): void;
}

/** Every `<key id>.key` file of a directory. Throws when the directory cannot be read or a key is malformed. */
export async function readKeyDir(dir: string): Promise<Map<string, Buffer>> {
  const keys = new Map<string, Buffer>();
  for (const name of (await readdir(dir)).sort()) {
    if (!name.endsWith('.key')) continue;
    const keyId = name.slice(0, -'.key'.length);
    try {
      keys.set(keyId, parseKeyText(await readFile(join(dir, name), 'utf8')));
    } catch (error) {
      throw new Error(`${join(dir, name)}: ${(error as Error).message}`, { cause: error });
    }
  }
  return keys;
}

/**
 * Loads the key ring (rejects if the directory is unreadable or a key malformed) and re-reads it
 * every `reloadMs` (0: never). A failed reload keeps the keys it had and reports through `onError`.
 */
export async function createKeyRing(
  dir: string,
  options: { reloadMs: number; onError: (error: unknown) => void },
): Promise<KeyRing> {
  let keys = await readKeyDir(dir);
  const reload = async () => {
    try {
      keys = await readKeyDir(dir);
    } catch (error) {
      options.onError(error);
    }
  };
  const timer =
    options.reloadMs > 0 ? setInterval(() => void reload(), options.reloadMs) : undefined;
  timer?.unref();
  return {
    get: (keyId) => keys.get(keyId),
    ids: () => [...keys.keys()],
    reload,
    close: () => clearInterval(timer),
  };
}
