import protobuf from 'protobufjs';

/**
 * A validating walk over the protobuf wire format (https://protobuf.dev/programming-guides/encoding/)
 * that builds no objects: it checks a record against its message type and reports where a few
 * chosen fields are, so the gateway can key a record without decoding it. The per-type tables come
 * from protobufjs reflection over the .proto text, so a schema change cannot leave them behind.
 *
 * It refuses at least everything the generated protobufjs decoder refuses, and a little more
 * (wire.test.ts lists what): a known field with another wire type than its declaration, a string
 * running past the end of its message, a varint over 10 bytes or cut short (or a tag over 32
 * bits), field number 0, an end-group marker that does not match its start. Each is malformed by
 * the encoding rules and none is written by a Vigil producer.
 */

/** protoc's default nesting limit, which protobufjs also applies (Reader.recursionLimit). */
export const RECURSION_LIMIT = 100;

/** A record that is not valid wire format for its type; `offset` is where the walk stopped. */
export class WireError extends Error {
  readonly offset: number;
  constructor(message: string, offset: number) {
    super(message);
    this.name = 'WireError';
    this.offset = offset;
  }
}

// What the walk expects of one field number (the `kinds` table of a message type).
const UNKNOWN = -1;
const VARINT = 0;
const I64 = 1;
/** string, bytes: length-delimited, not looked into. */
const LEN = 2;
const I32 = 5;
/** A nested message (or map entry): length-delimited, walked. */
const MESSAGE = 8;
/** Repeated numeric fields: the scalar's wire type, or packed (length-delimited). */
const PACKED_VARINT = 9;
const PACKED_I64 = 10;
const PACKED_I32 = 11;

const KIND_NAMES: Record<number, string> = {
  [VARINT]: 'a varint (wire type 0)',
  [I64]: '64-bit (wire type 1)',
  [LEN]: 'length-delimited (wire type 2)',
  [I32]: '32-bit (wire type 5)',
  [MESSAGE]: 'a message (wire type 2)',
  [PACKED_VARINT]: 'varints (wire type 0 or 2)',
  [PACKED_I64]: '64-bit values (wire type 1 or 2)',
  [PACKED_I32]: '32-bit values (wire type 5 or 2)',
};

/** One message type, compiled: what each field number must be. */
interface Table {
  readonly name: string;
  /** By field number; UNKNOWN past the end. */
  readonly kinds: Int8Array;
  /** By field number, for MESSAGE fields. */
  readonly nested: (Table | undefined)[];
  /** Field names by number, for error messages. */
  readonly fieldNames: (string | undefined)[];
  /** A map entry: protobufjs skips its unknown fields at its owner's depth. */
  readonly mapEntry: boolean;
}

/** Where the walk records the fields asked for, in one message type along a capture path. */
interface CaptureNode {
  /** By field number: index in starts/ends, or -1. */
  readonly slot: Int16Array;
  /** By field number: captures inside that (message) field. */
  readonly child: (CaptureNode | undefined)[];
  /** Every slot under this node: cleared when its message occurs again (the last one wins). */
  readonly below: number[];
}

const SCALAR_KINDS: Record<string, number> = {
  double: I64,
  float: I32,
  int32: VARINT,
  uint32: VARINT,
  sint32: VARINT,
  int64: VARINT,
  uint64: VARINT,
  sint64: VARINT,
  fixed32: I32,
  sfixed32: I32,
  fixed64: I64,
  sfixed64: I64,
  bool: VARINT,
  string: LEN,
  bytes: LEN,
};
const PACKED_OF: Record<number, number> = {
  [VARINT]: PACKED_VARINT,
  [I64]: PACKED_I64,
  [I32]: PACKED_I32,
};

/** The kind of a field of scalar type name `type` (resolved as `resolved` when not a scalar). */
function kindOf(
  owner: string,
  name: string,
  type: string,
  resolved: unknown,
  delimited = false,
): number {
  const scalar = SCALAR_KINDS[type];
  if (scalar !== undefined) return scalar;
  if (resolved instanceof protobuf.Enum) return VARINT;
  if (resolved instanceof protobuf.Type) {
    if (delimited) throw new TypeError(`${owner}.${name}: group fields are not supported`);
    return MESSAGE;
  }
  throw new TypeError(`${owner}.${name}: type ${type} did not resolve`);
}

function compileTable(type: protobuf.Type, cache: Map<string, Table>): Table {
  const cached = cache.get(type.fullName);
  if (cached) return cached;
  const maxId = type.fieldsArray.reduce((max, f) => Math.max(max, f.id), 0);
  if (maxId > 4096) throw new TypeError(`${type.fullName}: field numbers up to ${maxId} (table)`);
  const table: Table = {
    name: type.fullName.replace(/^\./, ''),
    kinds: new Int8Array(maxId + 1).fill(UNKNOWN),
    nested: [],
    fieldNames: [],
    mapEntry: false,
  };
  cache.set(type.fullName, table); // before the fields: a type may contain itself
  for (const field of type.fieldsArray) {
    field.resolve();
    const owner = table.name;
    table.fieldNames[field.id] = field.name;
    if (field instanceof protobuf.MapField) {
      // A map is a repeated entry message { key = 1; value = 2; } (the encoding guide, "Maps").
      const valueKind = kindOf(owner, field.name, field.type, field.resolvedType);
      const entry: Table = {
        name: `${owner}.${field.name} entry`,
        kinds: Int8Array.of(UNKNOWN, kindOf(owner, field.name, field.keyType, null), valueKind),
        nested: [],
        fieldNames: [undefined, 'key', 'value'],
        mapEntry: true,
      };
      if (valueKind === MESSAGE)
        entry.nested[2] = compileTable(field.resolvedType as protobuf.Type, cache);
      table.kinds[field.id] = MESSAGE;
      table.nested[field.id] = entry;
      continue;
    }
    let kind = kindOf(owner, field.name, field.type, field.resolvedType, field.delimited);
    if (kind === MESSAGE)
      table.nested[field.id] = compileTable(field.resolvedType as protobuf.Type, cache);
    // Parsers accept both packed and unpacked repeated numbers, whatever the declaration says.
    if (field.repeated && PACKED_OF[kind] !== undefined) kind = PACKED_OF[kind]!;
    table.kinds[field.id] = kind;
  }
  return table;
}

/** A compiled message type and the fields it reports. */
export interface Walker {
  /** Fully qualified name of the message type. */
  readonly typeName: string;
  /** Index in `starts`/`ends` of each capture, by the name given to compileWalker. */
  readonly slots: Readonly<Record<string, number>>;
  /**
   * After a walk, where each captured field's content starts in the walked bytes, or -1 when it is
   * absent. Overwritten by the next walk of this walker.
   */
  readonly starts: Int32Array;
  /** After a walk, where each captured field's content ends. */
  readonly ends: Int32Array;
  /**
   * Checks `bytes[start, end)` as one message of the type and fills starts/ends.
   * @throws {WireError} when the bytes are not valid wire format for the type.
   */
  walk(bytes: Uint8Array, start?: number, end?: number): void;
}

/**
 * Compiles a walker for `typeName` from a resolved protobufjs root. `captures` names the fields to
 * report, each by a dotted path of field names as written in the .proto file (for example
 * `envelope.event_id`); each must be a singular string, bytes or message field. As in protobufjs,
 * the last occurrence of a field wins, and a message that occurs again replaces the earlier one.
 * @throws {TypeError} for an unknown type or field, or a field that cannot be captured.
 */
export function compileWalker(
  root: protobuf.Root,
  typeName: string,
  captures: Readonly<Record<string, string>>,
): Walker {
  const type = root.lookupType(typeName);
  const table = compileTable(type, new Map());
  const newNode = (t: protobuf.Type): CaptureNode => {
    const maxId = t.fieldsArray.reduce((max, f) => Math.max(max, f.id), 0);
    return { slot: new Int16Array(maxId + 1).fill(-1), child: [], below: [] };
  };
  const top = newNode(type);
  const slots: Record<string, number> = {};
  Object.entries(captures).forEach(([name, path], index) => {
    let t = type;
    let node = top;
    const parts = path.split('.');
    parts.forEach((part, i) => {
      const field = t.fields[part];
      if (!field) throw new TypeError(`${t.fullName} has no field ${part} (capture ${name})`);
      field.resolve();
      if (field.repeated || field instanceof protobuf.MapField)
        throw new TypeError(`${t.fullName}.${part} is repeated (capture ${name})`);
      node.below.push(index);
      if (i === parts.length - 1) {
        const kind = kindOf(t.fullName, part, field.type, field.resolvedType);
        if (kind !== LEN && kind !== MESSAGE)
          throw new TypeError(`${t.fullName}.${part} is not string, bytes or a message (${name})`);
        node.slot[field.id] = index;
        return;
      }
      if (!(field.resolvedType instanceof protobuf.Type))
        throw new TypeError(`${t.fullName}.${part} is not a message (capture ${name})`);
      t = field.resolvedType;
      node = node.child[field.id] ??= newNode(t);
    });
    slots[name] = index;
  });
  const count = Object.keys(captures).length;
  const starts = new Int32Array(count);
  const ends = new Int32Array(count);
  return {
    typeName: table.name,
    slots,
    starts,
    ends,
    walk(bytes, start = 0, end = bytes.length) {
      starts.fill(-1);
      origin = start;
      walkMessage(bytes, start, end, table, top, 0, starts, ends);
    },
  };
}

/** Parses .proto texts (keyed by import path) into one resolved root, field names as written. */
export function loadRoot(sources: Readonly<Record<string, string>>): protobuf.Root {
  const root = new protobuf.Root();
  for (const source of Object.values(sources)) protobuf.parse(source, root, { keepCase: true });
  root.resolveAll();
  return root;
}

// Offsets in error messages are relative to the walked record.
let origin = 0;
// Where the last varint read ended (readVarint returns the value).
let next = 0;

function fail(what: string, at: number): never {
  throw new WireError(`${what} at offset ${at - origin}`, at - origin);
}

function fieldName(table: Table | undefined, field: number): string {
  if (!table) return `field ${field} inside a group`;
  const name = table.fieldNames[field];
  return `field ${field}${name ? ` (${name})` : ''} of ${table.name}`;
}

/** Reads a varint of at most 10 bytes ending before `end`; its end goes to `next`. */
function readVarint(buf: Uint8Array, pos: number, end: number): number {
  const at = pos;
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= end) fail('truncated varint', at);
    const b = buf[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      next = pos;
      return value;
    }
    scale *= 128;
  }
  return fail('varint longer than 10 bytes', at);
}

/** Skips a varint; returns where it ends. */
function skipVarint(buf: Uint8Array, pos: number, end: number): number {
  const limit = Math.min(end, pos + 10);
  for (let p = pos; p < limit; p++) if (buf[p]! < 0x80) return p + 1;
  return fail(
    limit === end && end - pos < 10 ? 'truncated varint' : 'varint longer than 10 bytes',
    pos,
  );
}

/** Reads a length prefix at `pos`; the content starts at `next` and must end by `end`. */
function readLength(
  buf: Uint8Array,
  pos: number,
  end: number,
  table: Table | undefined,
  field: number,
): number {
  const length = readVarint(buf, pos, end);
  if (length > end - next)
    fail(`${fieldName(table, field)}: length ${length} runs past the end of its message`, pos);
  return length;
}

function walkMessage(
  buf: Uint8Array,
  pos: number,
  end: number,
  table: Table,
  capture: CaptureNode | undefined,
  depth: number,
  starts: Int32Array,
  ends: Int32Array,
): void {
  if (depth > RECURSION_LIMIT) fail(`${table.name} nested too deeply`, pos);
  const kinds = table.kinds;
  while (pos < end) {
    const tagAt = pos;
    let tag = buf[pos]!;
    if (tag < 0x80) pos++;
    else {
      tag = readVarint(buf, pos, end);
      if (tag > 0xffffffff) fail('tag over 32 bits', tagAt);
      pos = next;
    }
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (field === 0) fail('field number 0', tagAt);
    const kind = field < kinds.length ? kinds[field]! : UNKNOWN;
    switch (kind) {
      case UNKNOWN:
        pos = skipUnknown(buf, pos, end, wireType, field, table, depth, tagAt);
        continue;
      case VARINT:
        if (wireType !== 0) break;
        pos = skipVarint(buf, pos, end);
        continue;
      case LEN:
      case MESSAGE: {
        if (wireType !== 2) break;
        const length = readLength(buf, pos, end, table, field);
        const start = next;
        pos = start + length;
        if (capture !== undefined) {
          const slot = field < capture.slot.length ? capture.slot[field]! : -1;
          if (slot >= 0) {
            starts[slot] = start;
            ends[slot] = pos;
          }
          if (kind === MESSAGE) {
            const inner = capture.child[field];
            if (inner !== undefined) {
              for (const s of inner.below) starts[s] = -1;
              const nested = table.nested[field]!;
              walkMessage(buf, start, pos, nested, inner, depth + 1, starts, ends);
              continue;
            }
          }
        }
        if (kind === MESSAGE) {
          const nested = table.nested[field]!;
          walkMessage(
            buf,
            start,
            pos,
            nested,
            undefined,
            nested.mapEntry ? depth : depth + 1,
            starts,
            ends,
          );
        }
        continue;
      }
      case I64:
        if (wireType !== 1) break;
        if (end - pos < 8) fail(`${fieldName(table, field)}: truncated 64-bit value`, pos);
        pos += 8;
        continue;
      case I32:
        if (wireType !== 5) break;
        if (end - pos < 4) fail(`${fieldName(table, field)}: truncated 32-bit value`, pos);
        pos += 4;
        continue;
      default:
        pos = walkRepeatedNumber(buf, pos, end, kind, wireType, table, field, tagAt);
        continue;
    }
    fail(`${fieldName(table, field)} is ${KIND_NAMES[kind]}, not wire type ${wireType}`, tagAt);
  }
}

/** A repeated numeric field, one value or packed; returns where it ends. */
function walkRepeatedNumber(
  buf: Uint8Array,
  pos: number,
  end: number,
  kind: number,
  wireType: number,
  table: Table,
  field: number,
  tagAt: number,
): number {
  const size = kind === PACKED_I64 ? 8 : kind === PACKED_I32 ? 4 : 0;
  if (wireType === 2) {
    const length = readLength(buf, pos, end, table, field);
    const start = next;
    const stop = start + length;
    if (size === 0) for (let p = start; p < stop;) p = skipVarint(buf, p, stop);
    else if (length % size !== 0)
      fail(`${fieldName(table, field)}: packed length ${length} is not a multiple of ${size}`, pos);
    return stop;
  }
  if (kind === PACKED_VARINT && wireType === 0) return skipVarint(buf, pos, end);
  if (size !== 0 && wireType === (size === 8 ? 1 : 5)) {
    if (end - pos < size) fail(`${fieldName(table, field)}: truncated ${size * 8}-bit value`, pos);
    return pos + size;
  }
  return fail(
    `${fieldName(table, field)} is ${KIND_NAMES[kind]}, not wire type ${wireType}`,
    tagAt,
  );
}

/** Skips a field the type does not declare (groups included); returns where it ends. */
function skipUnknown(
  buf: Uint8Array,
  pos: number,
  end: number,
  wireType: number,
  field: number,
  table: Table | undefined,
  depth: number,
  tagAt: number,
): number {
  switch (wireType) {
    case 0:
      return skipVarint(buf, pos, end);
    case 1:
      if (end - pos < 8) fail(`${fieldName(table, field)}: truncated 64-bit value`, pos);
      return pos + 8;
    case 2: {
      const length = readLength(buf, pos, end, table, field);
      return next + length;
    }
    case 5:
      if (end - pos < 4) fail(`${fieldName(table, field)}: truncated 32-bit value`, pos);
      return pos + 4;
    case 3:
      return skipGroup(buf, pos, end, field, table, depth, tagAt);
    case 4:
      return fail(`${fieldName(table, field)}: end of a group that was not started`, tagAt);
    default:
      return fail(`${fieldName(table, field)}: invalid wire type ${wireType}`, tagAt);
  }
}

/**
 * Skips a group whose start tag (field `field`) ended at `pos`, nested groups included, without
 * recursion. Every tag inside a group nested `open` deep counts as depth + open, as in protobufjs'
 * Reader.skipType; the end tag must name the group it closes.
 */
function skipGroup(
  buf: Uint8Array,
  pos: number,
  end: number,
  field: number,
  table: Table | undefined,
  depth: number,
  tagAt: number,
): number {
  const open = [field];
  while (open.length > 0) {
    if (pos >= end) fail(`${fieldName(table, field)}: group started here has no end`, tagAt);
    const at = pos;
    const tag = readVarint(buf, pos, end);
    if (tag > 0xffffffff) fail('tag over 32 bits', at);
    pos = next;
    const number = tag >>> 3;
    const wireType = tag & 7;
    if (number === 0) fail('field number 0', at);
    if (wireType === 4) {
      if (number !== open[open.length - 1])
        fail(`end of group ${number} inside group ${open.at(-1)}`, at);
      open.pop();
      continue;
    }
    if (depth + open.length > RECURSION_LIMIT) fail(`groups nested too deeply`, at);
    if (wireType === 3) open.push(number);
    else pos = skipUnknown(buf, pos, end, wireType, number, undefined, depth, at);
  }
  return pos;
}
