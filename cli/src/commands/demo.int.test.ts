import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureStack } from '@vigil/stack/stack';

/** The README's first command, `vigil demo` (what `npm start` runs), against the real stack. */

const bin = fileURLToPath(new URL('../../bin/vigil.js', import.meta.url));

beforeAll(async () => {
  await ensureStack();
}, 600_000);

describe('vigil demo', () => {
  it(
    'round-trips every family and follows a traced program into Elasticsearch',
    { timeout: 360_000 },
    async () => {
      const child = spawn(process.execPath, [bin, 'demo'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      // The demo's whole output in the message: a failure here is otherwise hard to read.
      expect(out, out).toMatch(/round trip complete: 7 events/);
      for (const family of ['process', 'session', 'status', 'trace', 'alert', 'watermark']) {
        expect(out).toMatch(new RegExp(`consumed vigil\\.${family}\\.v1 `));
      }
      expect(out).toMatch(/indexed {2}\S*bash by \S+ in vigil-process-\*, signature valid/);
      expect(status).toBe(0);
    },
  );
});
