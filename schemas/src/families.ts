/**
 * The catalogue of event families: which topic each lives on, which .proto file describes it, and
 * which message is the record value. Every producer and consumer looks topics up here, so a topic
 * name is written once. Topic names carry the major version (FORMAT.md).
 */
export interface Family {
  /** Short name, used in config, metrics labels and index names. */
  readonly name: FamilyName;
  /** Kafka topic; the suffix is the major version of the schema. */
  readonly topic: string;
  /** Path of the .proto file inside schemas/proto, as other files import it. */
  readonly protoFile: string;
  /** Fully qualified name of the record value's message. */
  readonly recordType: string;
  /** Kafka cleanup policy the topic is created with. */
  readonly cleanupPolicy: 'delete' | 'compact';
  /** What the Kafka key is, so that related events stay in order on one partition. */
  readonly keyedBy: string;
  /** The family's byte in the node transport header (FORMAT.md); never reused. */
  readonly transportId: number;
}

export type FamilyName = 'process' | 'session' | 'status' | 'trace' | 'alert' | 'watermark';

/** The shared envelope file every family imports (registered as a schema reference). */
export const ENVELOPE_PROTO_FILE = 'vigil/envelope/v1/envelope.proto';

const family = (
  transportId: number,
  name: FamilyName,
  recordType: string,
  keyedBy: string,
  cleanupPolicy: Family['cleanupPolicy'] = 'delete',
): Family => ({
  name,
  topic: `vigil.${name}.v1`,
  protoFile: `vigil/${name}/v1/${name}.proto`,
  recordType: `vigil.${name}.v1.${recordType}`,
  cleanupPolicy,
  keyedBy,
  transportId,
});

/** Every event family, in a stable order. */
export const FAMILIES: readonly Family[] = Object.freeze([
  family(1, 'process', 'ProcessEvent', 'host/boot id/pid: one process keeps its order'),
  family(2, 'session', 'SessionEvent', 'session id: one session keeps its order'),
  family(3, 'status', 'StatusEvent', 'site/host/service, or source for source reports'),
  family(4, 'trace', 'TraceEvent', 'origin host'),
  family(5, 'alert', 'AlertEvent', 'alert id'),
  family(
    6,
    'watermark',
    'WatermarkEvent',
    'watermark id (compacted: the latest registration wins)',
    'compact',
  ),
]);

/** Looks a family up by its node transport byte; undefined for an unknown byte (bad input). */
export function familyByTransportId(transportId: number): Family | undefined {
  return FAMILIES.find((f) => f.transportId === transportId);
}

/** Looks a family up by name; throws on an unknown name (a programmer error). */
export function familyByName(name: FamilyName): Family {
  const found = FAMILIES.find((f) => f.name === name);
  if (!found) throw new TypeError(`unknown event family: ${name}`);
  return found;
}
