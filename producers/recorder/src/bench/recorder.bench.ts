import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
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
 * vigil-rec is started as profile.d starts it: its bin, through its #! line. The gateway stand-in
 * (counts bytes) runs in a process of its own, as the gateway does; VIGIL_BENCH_GATEWAY=inprocess
 * puts it in the bench process (the terminal emulator) instead, as before 2026-11-22.
 * VIGIL_BENCH_CASES=throughput,echo,prompt picks cases; VIGIL_BENCH_MB the file size;
 * VIGIL_BENCH_ROUNDS the throughput rounds (3); VIGIL_BENCH_COMPARE=<another vigil-rec bin> adds
 * it as a case of its own ("compare"), alternated with the others (before/after in one run).
 */

/** The gateway stand-in's own process: counts what arrives, reports on request. */
const STAND_IN = `
const { createServer } = require('node:net');
let received = 0;
const server = createServer((s) => s.on('data', (d) => (received += d.length)));
server.listen(process.argv[2], () => process.send('listening'));
process.on('message', () => process.send(received));
process.on('disconnect', () => process.exit(0));
`;
const load = (): string =>
  `load ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')}`;

interface OuterPty {
  onData(cb: (d: Buffer | string) => void): void;
  onExit(cb: () => void): void;
  write(d: string): void;
  kill(): void;
}
const pty = createRequire(import.meta.url)('@lydell/node-pty') as {
  spawn(file: string, args: string[], opts: Record<string, unknown>): OuterPty;
};

const BIN = fileURLToPath(new URL('../../bin/vigil-rec.cjs', import.meta.url));
const COMPARE = process.env.VIGIL_BENCH_COMPARE;
const ROUNDS = Number(process.env.VIGIL_BENCH_ROUNDS ?? 3);
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
  const socketPath = join(dir, 'gw.sock');
  const cases = new Set((process.env.VIGIL_BENCH_CASES ?? 'throughput,echo,prompt').split(','));
  const gateway = await standIn(socketPath, process.env.VIGIL_BENCH_GATEWAY === 'inprocess');
  console.log(
    `gateway stand-in: ${gateway.where}; NODE_EXTRA_CA_CERTS ${process.env.NODE_EXTRA_CA_CERTS ? 'set' : 'unset'}; ${load()}`,
  );
  const recEnv = {
    SHELL: '/bin/bash',
    VIGIL_RECORDER_GATEWAY_ADDRESS: `unix:${socketPath}`,
    VIGIL_RECORDER_GATEWAY_SPOOL_DIR: join(dir, 'spool'),
  };
  const size = Number(process.env.VIGIL_BENCH_MB ?? 50) * 1024 * 1024;
  if (cases.has('throughput')) await throughput(size, recEnv, gateway);
  if (cases.has('echo')) await echoLatency(recEnv);
  if (cases.has('prompt')) await promptTime(recEnv);
  await gateway.close();
}

interface StandIn {
  readonly where: string;
  received(): Promise<number>;
  close(): Promise<void>;
}

async function standIn(socketPath: string, inProcess: boolean): Promise<StandIn> {
  if (inProcess) {
    let received = 0;
    const server = createServer((s) => s.on('data', (d: Buffer) => (received += d.length)));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    return {
      where: 'in the bench process',
      received: () => Promise.resolve(received),
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }
  const file = join(dir, 'stand-in.cjs');
  writeFileSync(file, STAND_IN);
  const child = fork(file, [socketPath], { stdio: 'inherit' });
  await new Promise((resolve) => child.once('message', resolve));
  return {
    where: `process ${child.pid}`,
    received: () =>
      new Promise((resolve) => {
        child.once('message', (n) => resolve(Number(n)));
        child.send('count');
      }),
    close: async () => void child.disconnect(),
  };
}

async function throughput(
  size: number,
  recEnv: Record<string, string>,
  gateway: StandIn,
): Promise<void> {
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
  if (COMPARE) times.compare = [];
  for (let round = 0; round < ROUNDS; round++) {
    times.bare!.push((await run('/bin/cat', [big], {})).ms);
    times.script!.push((await run('script', ['-qfec', `cat ${big}`, '/dev/null'], {})).ms);
    times.recorder!.push((await run(BIN, ['-c', `cat ${big}`], recEnv)).ms);
    if (COMPARE) times.compare!.push((await run(COMPARE, ['-c', `cat ${big}`], recEnv)).ms);
  }
  const bare = median(times.bare!);
  console.log(
    `throughput: cat of ${size / 1048576} MB in a 120x40 pty (median of ${ROUNDS}); ${load()}`,
  );
  for (const [name, xs] of Object.entries(times)) {
    const ms = median(xs);
    console.log(
      `  ${name.padEnd(9)} ${ms.toFixed(0).padStart(6)} ms  ${(size / 1048576 / (ms / 1000)).toFixed(1).padStart(6)} MB/s  ${(ms / bare).toFixed(2)}x bare  (${xs.map((x) => x.toFixed(0)).join(' ')})`,
    );
  }
  const received = await gateway.received();
  console.log(`  (the gateway stand-in received ${(received / 1048576).toFixed(1)} MB of frames)`);
}

async function echoLatency(recEnv: Record<string, string>): Promise<void> {
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
    // The next case starts only once this one has ended (a recorder still finishing its
    // session must not share the CPU with the next measurement).
    const ended = new Promise<void>((resolve) => p.onExit(resolve));
    p.kill();
    await ended;
    return samples;
  }
  const script = 'stty raw -echo; echo READY; exec cat';
  const echoBare: number[] = [];
  const echoRec: number[] = [];
  const echoCompare: number[] = [];
  for (let round = 0; round < 3; round++) {
    echoBare.push(median(await echo('/bin/sh', ['-c', script], {}, 300)));
    echoRec.push(median(await echo(BIN, ['-c', script], recEnv, 300)));
    if (COMPARE) echoCompare.push(median(await echo(COMPARE, ['-c', script], recEnv, 300)));
  }
  console.log(
    `echo: keystroke to \`cat\` in raw mode and back (median of 300, median of 3 rounds); ${load()}`,
  );
  console.log(`  bare      ${median(echoBare).toFixed(0).padStart(6)} µs`);
  console.log(
    `  recorder  ${median(echoRec).toFixed(0).padStart(6)} µs  (+${(median(echoRec) - median(echoBare)).toFixed(0)} µs)  (rounds: bare ${echoBare.map((x) => x.toFixed(0)).join(' ')}; recorder ${echoRec.map((x) => x.toFixed(0)).join(' ')})`,
  );
  if (COMPARE)
    console.log(
      `  compare   ${median(echoCompare).toFixed(0).padStart(6)} µs  (+${(median(echoCompare) - median(echoBare)).toFixed(0)} µs)  (rounds: ${echoCompare.map((x) => x.toFixed(0)).join(' ')})`,
    );
}

async function promptTime(recEnv: Record<string, string>): Promise<void> {
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
          const ms = performance.now() - t0;
          p.onExit(() => resolve(ms)); // the next case starts once this one has ended
          p.write('exit\r');
        }
      });
    });
  }
  // As deployed, with a config file (/etc/vigil/vigil.yaml): read before the program starts.
  const config = join(home, 'vigil.yaml');
  writeFileSync(config, 'recorder:\n  shellIntegration: true\n  batch:\n    maxDelayMs: 20\n');
  const withConfig = { ...recEnv, VIGIL_CONFIG: config };
  const promptBare: number[] = [];
  const promptRec: number[] = [];
  const promptConfig: number[] = [];
  const promptCompare: number[] = [];
  for (let i = 0; i < 7; i++) {
    promptBare.push(await prompt('/bin/bash', ['-i'], {}));
    promptRec.push(await prompt(BIN, [], recEnv));
    promptConfig.push(await prompt(BIN, [], withConfig));
    if (COMPARE) promptCompare.push(await prompt(COMPARE, [], recEnv));
  }
  console.log(`prompt: spawn to the first bash prompt (median of 7); ${load()}`);
  console.log(`  bare      ${median(promptBare).toFixed(1).padStart(6)} ms`);
  console.log(
    `  recorder  ${median(promptRec).toFixed(1).padStart(6)} ms  (+${(median(promptRec) - median(promptBare)).toFixed(1)} ms)`,
  );
  console.log(
    `  + config  ${median(promptConfig).toFixed(1).padStart(6)} ms  (+${(median(promptConfig) - median(promptBare)).toFixed(1)} ms)  (recorder with a config file)`,
  );
  if (COMPARE)
    console.log(
      `  compare   ${median(promptCompare).toFixed(1).padStart(6)} ms  (+${(median(promptCompare) - median(promptBare)).toFixed(1)} ms)`,
    );
}

await main();
process.exit(0);
