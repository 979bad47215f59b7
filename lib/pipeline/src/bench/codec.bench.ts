/**
 * Cost of the Confluent framing and of signing, as ratios to plain protobuf encode/decode of the
 * same message measured in the same run (the machines are shared and noisy; ratios travel).
 * Run: npm run bench -w @vigil/pipeline
 */
import { vigil } from '@vigil/schemas/gen';
import { decodeFrame, encodeFrame } from '../codec/frame.js';
import { computeMac } from '../signature.js';
import { sampleEvents } from '../testing/sample-events.js';

const ROUNDS = 15;
const ITERATIONS = 20_000;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** ns per operation of one round. */
function once(fn: () => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) fn();
  return Number(process.hrtime.bigint() - start) / ITERATIONS;
}

/**
 * Medians of a baseline and a candidate timed alternately, round by round, so that load from other
 * processes and JIT state fall on both alike.
 */
function compare(baseline: () => void, candidate: () => void): [number, number] {
  const base: number[] = [];
  const cand: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    base.push(once(baseline));
    cand.push(once(candidate));
  }
  return [median(base), median(cand)];
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

const encode = () => Type.encode(message).finish();
const [encodeBase, encodeFramed] = compare(encode, () =>
  encodeFrame({ schemaId: 42, messageIndexes: [0], payload: Type.encode(message).finish() }),
);
const [decodeBase, decodeFramed] = compare(
  () => Type.decode(payload),
  () => Type.decode(decodeFrame(framed).payload),
);
const [signBase, sign] = compare(encode, () => computeMac(key, envelope, payload));

const row = (name: string, ns: number, base: number) =>
  console.log(
    `${name.padEnd(34)} ${ns.toFixed(0).padStart(7)} ns/op   ${(ns / base).toFixed(2)}× baseline`,
  );
console.log(`ProcessEvent of ${payload.length} bytes; median of ${ROUNDS} rounds × ${ITERATIONS}`);
row('protobuf encode (baseline)', encodeBase, encodeBase);
row('protobuf encode + Confluent frame', encodeFramed, encodeBase);
row('protobuf decode (baseline)', decodeBase, decodeBase);
row('Confluent unframe + protobuf decode', decodeFramed, decodeBase);
row('HMAC-SHA256 signature (vs encode)', sign, signBase);
