import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createEventCodec } from '@vigil/pipeline/codec';
import { pollerSchema } from '../config.js';
import { createPoller } from '../poller.js';
import { createStatusPublisher } from '../publish.js';
import { createTelemetry } from '../telemetry.js';
import type { KnownState } from '../track.js';

/**
 * `npm run bench`: one poll cycle over 10,000 services from 20 sources (10 Icinga 2 REST answers,
 * 10 Checkmk CSV exports of 500 services each, served over HTTP by a separate process), through
 * the whole poller: fetch, decode, parse, filter, diff, build and frame every snapshot, state change
 * and state record. Kafka's send is left out (the producer is a no-op) so the figure is the
 * poller's own cost. Baseline in the same run: fetching the same 20 answers and JSON.parse/split
 * only, so the ratio says what the poller adds on top of reading the data.
 */

const SOURCES = 20;
const PER_SOURCE = 500;
const CYCLES = 5;

function icingaBody(source: number, cycle: number): string {
  const results = Array.from({ length: PER_SOURCE }, (_, i) => ({
    attrs: {
      host_name: `wn${source}-${Math.floor(i / 10)}.example-grid.ro`,
      name: `org.sam.check-${i % 10}`,
      state: (i + cycle) % 100 === 0 ? 2 : 0, // 1% change per cycle
      state_type: 1,
      last_check: 1795316505 + cycle,
      last_check_result: { output: `OK - check ${i} fine|t=0.1s`, state: 0 },
      last_state_change: 1795316000,
      acknowledgement: 0,
      downtime_depth: 0,
      flapping: false,
    },
    joins: {},
    meta: {},
    name: `wn${source}-${i}!org.sam.check-${i % 10}`,
    type: 'Service',
  }));
  return JSON.stringify({ results });
}

function csvBody(source: number, cycle: number): string {
  const header =
    '"host";"service_state";"service_description";"service_icons";"svc_plugin_output";"svc_state_age";"svc_check_age";"perfometer"';
  const rows = Array.from({ length: PER_SOURCE }, (_, i) => {
    const state = (i + cycle) % 100 === 0 ? 'CRIT' : 'OK';
    return `"wn${source}-${Math.floor(i / 10)}.example-grid.ro";"${state}";"org.sam.check-${i % 10}";"";"OK - check ""${i}"" fine";"18 m";"23 s";""`;
  });
  return [header, ...rows].join('\n') + '\n';
}

const dir = mkdtempSync(join(tmpdir(), 'vigil-poller-bench-'));
const serverFile = join(dir, 'server.cjs');
writeFileSync(
  serverFile,
  `const http = require('node:http'); const fs = require('node:fs'); const path = require('node:path');
   let cycle = 0;
   const server = http.createServer((req, res) => {
     if (req.url === '/next') { cycle++; res.end('ok'); return; }
     const file = path.join(${JSON.stringify(dir)}, cycle + '-' + req.url.slice(1).split(/[/?]/)[0]);
     fs.readFile(file, (err, body) => { if (err) { res.writeHead(404); res.end(); return; } res.end(body); });
   });
   server.listen(0, '127.0.0.1', () => process.send(server.address().port));`,
);
const formats = Array.from({ length: SOURCES }, (_, s) => (s % 2 === 0 ? 'icinga2' : 'csv'));
for (let cycle = 0; cycle <= CYCLES; cycle++) {
  formats.forEach((format, s) =>
    writeFileSync(
      join(dir, `${cycle}-s${s}`),
      format === 'icinga2' ? icingaBody(s, cycle) : csvBody(s, cycle),
    ),
  );
}
const server = fork(serverFile, { stdio: 'ignore' });
const port = await new Promise<number>((resolve) =>
  server.once('message', (p) => resolve(p as number)),
);
const base = `http://127.0.0.1:${port}`;

const config = pollerSchema.parse({
  jitterMs: 0,
  concurrency: 8,
  sources: formats.map((format, s) => ({
    name: `s${s}`,
    adapter:
      format === 'icinga2'
        ? { type: 'icinga2', url: `${base}/s${s}`, eventStream: false }
        : { type: 'checkmk-view', url: `${base}/s${s}`, format: 'csv' },
  })),
});

// The codec frames for real; only the registry round trip is replaced by a fixed schema id.
const codec = createEventCodec({
  registerFile: async () => 1,
  fileOfSchemaId: async () => 'vigil/status/v1/status.proto',
});
await codec.register(['vigil.status.v1.StatusEvent']);
let records = 0;
const publisher = createStatusPublisher({
  codec,
  producer: {
    sendBatch: async (batch) => {
      for (const t of batch.topicMessages ?? []) records += t.messages.length;
      return [];
    },
  },
  producerId: 'poller/bench',
});
const known = new Map<string, KnownState>();
const poller = createPoller(config, {
  publisher,
  telemetry: createTelemetry({ log: pino({ level: 'silent' }) }),
  known,
  hostname: 'bench',
});

async function next(): Promise<void> {
  await fetch(`${base}/next`).then((r) => r.text());
}

async function measure(run: () => Promise<unknown>): Promise<{ wallMs: number; cpuMs: number }> {
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await run();
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMs: (used.user + used.system) / 1000 };
}

const baselineCycle = () =>
  Promise.all(
    config.sources.map(async (s) => {
      const url =
        s.adapter.type === 'icinga2'
          ? `${s.adapter.url}/v1/objects/services`
          : (s.adapter as { url: string }).url;
      const text = await (await fetch(url)).text();
      return s.adapter.type === 'icinga2'
        ? JSON.parse(text)
        : text.split('\n').map((l) => l.split(';'));
    }),
  );
const pollerCycle = async () => {
  const outcomes = await Promise.all(config.sources.map((s) => poller.pollNow(s.name)));
  const bad = outcomes.filter((o) => !o.ok);
  if (bad.length > 0) throw new Error(`bench: ${bad.length} polls failed: ${bad[0]!.error}`);
  return outcomes;
};

await measure(pollerCycle); // cycle 0: warm-up and baseline of the known states (no changes)
const rows: Array<{
  cycle: number;
  baseline: { wallMs: number; cpuMs: number };
  poller: { wallMs: number; cpuMs: number };
  changes: number;
}> = [];
for (let cycle = 1; cycle <= CYCLES; cycle++) {
  await next();
  const baseline = await measure(baselineCycle);
  const before = records;
  const result = await measure(pollerCycle);
  rows.push({ cycle, baseline, poller: result, changes: records - before });
}
await poller.stop();
server.kill();
rmSync(dir, { recursive: true, force: true });

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const pw = median(rows.map((r) => r.poller.wallMs));
const pc = median(rows.map((r) => r.poller.cpuMs));
const bw = median(rows.map((r) => r.baseline.wallMs));
const bc = median(rows.map((r) => r.baseline.cpuMs));
console.log(
  `poll cycle: ${SOURCES} sources x ${PER_SOURCE} services = ${SOURCES * PER_SOURCE} services, ${CYCLES} cycles, 1% state changes per cycle`,
);
for (const r of rows) {
  console.log(
    `  cycle ${r.cycle}: poller wall ${r.poller.wallMs.toFixed(0)} ms cpu ${r.poller.cpuMs.toFixed(0)} ms (${r.changes} records) | baseline fetch+parse wall ${r.baseline.wallMs.toFixed(0)} ms cpu ${r.baseline.cpuMs.toFixed(0)} ms`,
  );
}
console.log(
  `median per cycle: poller wall ${pw.toFixed(0)} ms, cpu ${pc.toFixed(0)} ms; baseline wall ${bw.toFixed(0)} ms, cpu ${bc.toFixed(0)} ms`,
);
console.log(
  `ratio poller/baseline: wall ${(pw / bw).toFixed(2)}x, cpu ${(pc / bc).toFixed(2)}x; poller cpu per service ${((pc * 1000) / (SOURCES * PER_SOURCE)).toFixed(1)} us`,
);
