/**
 * Cost of the Confluent framing and of signing, as ratios to plain protobuf encode/decode of the
 * same message measured in the same run (the machines are shared and noisy; ratios travel).
 * Run: npm run bench -w @vigil/pipeline
 */
import { vigil } from '@vigil/schemas/gen';
import { decodeFrame, encodeFrame } from '../codec/frame.js';
import { computeMac } from '../signature.js';
import { sampleEvents } from '../testing/sample-events.js';

const ROUNDS = 7;
const ITERATIONS = 20_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** ns per operation, median of ROUNDS rounds. */
function measure(fn: () => void): number {
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < ITERATIONS; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - start) / ITERATIONS);
  }
  return median(rounds);
}

const message = sampleEvents().find((e) => e.family === 'process')!
  .message as vigil.process.v1.ProcessEvent;
const Type = vigil.process.v1.ProcessEvent;
const payload = Type.encode(message).finish();
const framed = encodeFrame({ schemaId: 42, messageIndexes: [0], payload });
const key = Buffer.alloc(32, 1);
const source = message.envelope!;
const envelope = {
  eventId: source.eventId!,
  sourceKind: source.sourceKind ?? 0,
  host: source.host ?? '',
  producerId: source.producerId ?? '',
  sequence: source.sequence!,
  timeUnixNano: source.timeUnixNano!,
};

// Warm up the JIT on every path before measuring any.
for (let i = 0; i < ITERATIONS; i++) {
  Type.decode(
    decodeFrame(
      encodeFrame({ schemaId: 42, messageIndexes: [0], payload: Type.encode(message).finish() }),
    ).payload,
  );
  computeMac(key, envelope, payload);
}

const encodeBase = measure(() => Type.encode(message).finish());
const encodeFramed = measure(() =>
  encodeFrame({ schemaId: 42, messageIndexes: [0], payload: Type.encode(message).finish() }),
);
const decodeBase = measure(() => Type.decode(payload));
const decodeFramed = measure(() => Type.decode(decodeFrame(framed).payload));
const sign = measure(() => computeMac(key, envelope, payload));

const row = (name: string, ns: number, base: number) =>
  console.log(
    `${name.padEnd(34)} ${ns.toFixed(0).padStart(7)} ns/op   ${(ns / base).toFixed(2)}× baseline`,
  );
console.log(`ProcessEvent of ${payload.length} bytes; median of ${ROUNDS} rounds × ${ITERATIONS}`);
row('protobuf encode (baseline)', encodeBase, encodeBase);
row('protobuf encode + Confluent frame', encodeFramed, encodeBase);
row('protobuf decode (baseline)', decodeBase, decodeBase);
row('Confluent unframe + protobuf decode', decodeFramed, decodeBase);
row('HMAC-SHA256 signature (vs encode)', sign, encodeBase);
