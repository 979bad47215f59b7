/**
 * decodeMessage (the wire walk) against the protobufjs decode it replaced, in ns per call, on the
 * gateway bench's datagram (a ProcessEvent start, testkit processDatagram) and on a session output
 * event. Old and new alternate within each round, so both see the same machine load; the figures
 * are the medians over the rounds, and the ratio is the median of the per-round ratios.
 *
 *   npm run build && flock /tmp/vigil-bench.lock npm run bench:decode [-- rounds calls]
 */
import { formatUuid } from '@vigil/pipeline/events';
import { sampleEvents } from '@vigil/pipeline/testing';
import { familyByName } from '@vigil/schemas/families';
import { vigil } from '@vigil/schemas/gen';
import { loadavg } from 'node:os';
import { decodeMessage, encodeTransport, MAX_DATAGRAM_BYTES } from '../decode.js';
import { decodeWithProtobufjs } from '../decode-with-protobufjs.js';
import { processDatagram } from '../testkit.js';

const rounds = Number(process.argv[2] ?? 31);
const calls = Number(process.argv[3] ?? 20_000);

const session = sampleEvents().find((s) => s.family === 'session')!;
const inputs: { name: string; bytes: Buffer }[] = [
  { name: 'process start (gateway bench datagram)', bytes: processDatagram(1).bytes },
  {
    name: 'session output',
    bytes: encodeTransport(
      familyByName('session'),
      vigil.session.v1.SessionEvent.encode(
        session.message as vigil.session.v1.SessionEvent,
      ).finish(),
    ),
  },
];

let sink = 0;
type Decode = typeof decodeMessage;
const impls: { name: string; decode: Decode }[] = [
  { name: 'protobufjs', decode: decodeWithProtobufjs },
  { name: 'wire walk', decode: decodeMessage },
  {
    // What the eventId text costs of the walk's time (decodeMessage formats it on every call).
    name: 'formatUuid alone',
    decode: ((bytes: Uint8Array) => {
      sink += formatUuid(bytes.subarray(8, 24)).length;
      return undefined;
    }) as never,
  },
];

function timeOne(decode: Decode, bytes: Buffer): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) {
    const event = decode(bytes, MAX_DATAGRAM_BYTES);
    if (event) sink += event.key.length;
  }
  return Number(process.hrtime.bigint() - start) / calls;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

console.log(
  `node ${process.version}, load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
console.log(`${rounds} rounds of ${calls} calls per implementation and input, interleaved`);
for (const { name, bytes } of inputs) {
  // Same result first: the comparison means nothing otherwise.
  const a = decodeWithProtobufjs(bytes, MAX_DATAGRAM_BYTES);
  const b = decodeMessage(bytes, MAX_DATAGRAM_BYTES);
  if (a.key !== b.key || a.eventId !== b.eventId) throw new Error(`${name}: results differ`);
  for (const impl of impls) timeOne(impl.decode, bytes); // warm-up
  const ns: number[][] = impls.map(() => []);
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first, so neither always runs right after a GC of the other's garbage.
    const order = r % 2 === 0 ? [0, 1, 2] : [1, 0, 2];
    const round: number[] = [];
    for (const i of order) round[i] = timeOne(impls[i]!.decode, bytes);
    round.forEach((v, i) => ns[i]!.push(v));
    ratios.push(round[0]! / round[1]!);
  }
  console.log(`\n${name}, ${bytes.length} bytes`);
  impls.forEach((impl, i) => {
    const xs = ns[i]!;
    console.log(
      `  ${impl.name.padEnd(18)} median ${median(xs).toFixed(0).padStart(5)} ns/call` +
        `  (min ${Math.min(...xs).toFixed(0)}, max ${Math.max(...xs).toFixed(0)})`,
    );
  });
  console.log(
    `  protobufjs / wire walk: ${median(ratios).toFixed(2)}x (median of per-round ratios)`,
  );
}
if (sink === 0) console.log('');
