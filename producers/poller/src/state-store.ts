import type { Kafka } from 'kafkajs';
import type { EventCodec } from '@vigil/pipeline/codec';
import { toBigInt } from '@vigil/pipeline/events';
import type { vigil } from '@vigil/schemas/gen';
import { knownStateOf, OUTAGE_KEY_PREFIX } from './publish.js';
import type { KnownState } from './track.js';

/** What the state topic holds: the last state of every service, and the sources down right now. */
export interface KnownStates {
  readonly services: Map<string, KnownState>;
  /** Source name → since when it has been unreachable (ms since the epoch). */
  readonly outages: Map<string, number>;
}

/**
 * Reads the compacted state topic from the beginning up to its end at start, so a restarted
 * poller knows every service's last state and announces nothing that did not change. No consumer
 * group offsets are committed: every start reads the whole (compacted) topic.
 * Resolves with the states by key (site/host/service); records that do not decode are counted
 * through `onBadRecord` and skipped (a later poll rewrites them).
 */
export async function loadKnownStates(
  kafka: Kafka,
  codec: EventCodec,
  topic: string,
  options: {
    readonly groupId: string;
    readonly onBadRecord?: (error: unknown) => void;
    readonly timeoutMs?: number;
  },
): Promise<KnownStates> {
  const states = new Map<string, KnownState>();
  const outages = new Map<string, number>();
  const result = { services: states, outages };
  const admin = kafka.admin();
  await admin.connect();
  let ends: Map<number, bigint>;
  try {
    const offsets = await admin.fetchTopicOffsets(topic);
    ends = new Map(offsets.map((o) => [o.partition, BigInt(o.high)]));
  } finally {
    await admin.disconnect();
  }
  const pending = new Set([...ends].filter(([, high]) => high > 0n).map(([p]) => p));
  if (pending.size === 0) return result;

  const consumer = kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `reading state topic ${topic}: not at its end within ${options.timeoutMs ?? 60_000} ms`,
            ),
          ),
        options.timeoutMs ?? 60_000,
      );
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            for (const message of batch.messages) {
              const key = message.key?.toString('utf8');
              if (key !== undefined) {
                const outage = key.startsWith(OUTAGE_KEY_PREFIX)
                  ? key.slice(OUTAGE_KEY_PREFIX.length)
                  : undefined;
                if (message.value === null || message.value.length === 0) {
                  if (outage !== undefined) outages.delete(outage);
                  else states.delete(key);
                } else {
                  try {
                    const decoded = await codec.decode<vigil.status.v1.IStatusEvent>(message.value);
                    if (outage !== undefined) {
                      outages.set(
                        outage,
                        Number(
                          toBigInt(decoded.message.envelope?.timeUnixNano as never) / 1_000_000n,
                        ),
                      );
                    } else {
                      const found = knownStateOf(decoded.message);
                      if (found) states.set(key, found.known);
                    }
                  } catch (error) {
                    options.onBadRecord?.(error);
                  }
                }
              }
              if (BigInt(message.offset) + 1n >= ends.get(batch.partition)!)
                pending.delete(batch.partition);
            }
            if (pending.size === 0) {
              clearTimeout(timer);
              resolve();
            }
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return result;
}
