import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';

/**
 * `npm run bench`: the recorder against a bare pty in the same run. An outer pty (node-pty, as a
 * terminal emulator would be) runs each case and reads everything:
 *   throughput  `cat` of a 50 MB file: bare, under `script`, under vigil-rec (streaming to a
 *               gateway stand-in) → time and ratio to bare
 *   echo        a keystroke to `cat` in raw mode and back: bare vs under vigil-rec → median added µs
 *   prompt      spawn until bash's first prompt: bare vs under vigil-rec → median added ms
 */

interface OuterPty {
  onData(cb: (d: Buffer | string) => void): void;
  onExit(cb: () => void): void;
  write(d: string): void;
  kill(): void;
}
const pty = createRequire(import.meta.url)('@lydell/node-pty') as {
  spawn(file: string, args: string[], opts: Record<string, unknown>): OuterPty;
};

const BIN = fileURLToPath(new URL('../../bin/vigil-rec.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vigil-rec-bench-'));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function run(
  file: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ ms: number; bytes: number }> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let bytes = 0;
    const p = pty.spawn(file, args, {
      cols: 120,
      rows: 40,
      env: { ...process.env, ...env },
      encoding: null,
    });
    p.onData((d) => (bytes += d.length));
    p.onExit(() => resolve({ ms: performance.now() - t0, bytes }));
  });
}

async function main(): Promise<void> {
  // The gateway stand-in only counts bytes, so the bench process measures and does little else.
  const socketPath = join(dir, 'gw.sock');
  let received = 0;
  const server = createServer((s) => s.on('data', (d: Buffer) => (received += d.length)));
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const recEnv = {
    SHELL: '/bin/bash',
    VIGIL_RECORDER_GATEWAY_ADDRESS: `unix:${socketPath}`,
    VIGIL_RECORDER_GATEWAY_SPOOL_DIR: join(dir, 'spool'),
  };
  const size = Number(process.env.VIGIL_BENCH_MB ?? 50) * 1024 * 1024;
  const big = join(dir, 'big.txt');
  writeFileSync(
    big,
    randomBytes(size / 2)
      .toString('hex')
      .replace(/(.{119})/g, '$1\n')
      .slice(0, size),
  );

  // Throughput, alternating the cases so machine load hits them alike.
  const times: Record<string, number[]> = { bare: [], script: [], recorder: [] };
  for (let round = 0; round < 3; round++) {
    times.bare!.push((await run('/bin/cat', [big], {})).ms);
    times.script!.push((await run('script', ['-qfec', `cat ${big}`, '/dev/null'], {})).ms);
    times.recorder!.push((await run(process.execPath, [BIN, '-c', `cat ${big}`], recEnv)).ms);
  }
  const bare = median(times.bare!);
  console.log(`throughput: cat of ${size / 1048576} MB in a 120x40 pty (median of 3)`);
  for (const [name, xs] of Object.entries(times)) {
    const ms = median(xs);
    console.log(
      `  ${name.padEnd(9)} ${ms.toFixed(0).padStart(6)} ms  ${(size / 1048576 / (ms / 1000)).toFixed(1).padStart(6)} MB/s  ${(ms / bare).toFixed(2)}x bare`,
    );
  }
  console.log(`  (the gateway stand-in received ${(received / 1048576).toFixed(1)} MB of frames)`);

  // Echo latency: one byte to `cat` in raw mode and back.
  async function echo(
    file: string,
    args: string[],
    env: Record<string, string>,
    n: number,
  ): Promise<number[]> {
    const p = pty.spawn(file, args, {
      cols: 120,
      rows: 40,
      env: { ...process.env, ...env },
      encoding: null,
    });
    let waiting: (() => void) | undefined;
    let ready = false;
    p.onData((d) => {
      if (!ready && Buffer.from(d).includes('READY')) ready = true;
      waiting?.();
    });
    while (!ready) await new Promise((r) => setTimeout(r, 10));
    const samples: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      await new Promise<void>((resolve) => {
        waiting = resolve;
        p.write('x');
      });
      samples.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    p.kill();
    return samples;
  }
  const script = 'stty raw -echo; echo READY; exec cat';
  const echoBare: number[] = [];
  const echoRec: number[] = [];
  for (let round = 0; round < 3; round++) {
    echoBare.push(median(await echo('/bin/sh', ['-c', script], {}, 300)));
    echoRec.push(median(await echo(process.execPath, [BIN, '-c', script], recEnv, 300)));
  }
  console.log('echo: keystroke to `cat` in raw mode and back (median of 300, median of 3 rounds)');
  console.log(`  bare      ${median(echoBare).toFixed(0).padStart(6)} µs`);
  console.log(
    `  recorder  ${median(echoRec).toFixed(0).padStart(6)} µs  (+${(median(echoRec) - median(echoBare)).toFixed(0)} µs)`,
  );

  // Time to a shell prompt.
  const home = mkdtempSync(join(dir, 'home-'));
  writeFileSync(join(home, '.bashrc'), "PS1='PROMPT> '\n");
  function prompt(file: string, args: string[], env: Record<string, string>): Promise<number> {
    return new Promise((resolve) => {
      const t0 = performance.now();
      const p = pty.spawn(file, args, {
        cols: 120,
        rows: 40,
        env: { ...process.env, HOME: home, ...env },
        encoding: null,
      });
      let seen = '';
      let done = false;
      p.onData((d) => {
        seen += Buffer.from(d).toString('latin1');
        if (!done && seen.includes('PROMPT>')) {
          done = true;
          resolve(performance.now() - t0);
          p.write('exit\r');
        }
      });
    });
  }
  const promptBare: number[] = [];
  const promptRec: number[] = [];
  for (let i = 0; i < 7; i++) {
    promptBare.push(await prompt('/bin/bash', ['-i'], {}));
    promptRec.push(await prompt(process.execPath, [BIN], recEnv));
  }
  console.log('prompt: spawn to the first bash prompt (median of 7)');
  console.log(`  bare      ${median(promptBare).toFixed(1).padStart(6)} ms`);
  console.log(
    `  recorder  ${median(promptRec).toFixed(1).padStart(6)} ms  (+${(median(promptRec) - median(promptBare)).toFixed(1)} ms)`,
  );
  server.close();
}

await main();
process.exit(0);
