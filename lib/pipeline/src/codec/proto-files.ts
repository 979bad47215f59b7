import protobuf from 'protobufjs';
import { PROTO_SOURCES } from '@vigil/schemas/sources';

/**
 * Where each message type sits in its .proto file, read from the same source text that is
 * registered, so message indexes and registered schemas cannot disagree. Confluent message
 * indexes count message types only (not enums), in declaration order, nested ones included.
 */
export interface MessageLocation {
  /** Import path of the file, for example "vigil/process/v1/process.proto". */
  readonly protoFile: string;
  /** The file's package, for example "vigil.process.v1". */
  readonly packageName: string;
  /** Index path of the message inside the file. */
  readonly messageIndexes: readonly number[];
}

interface ProtoFile {
  readonly protoFile: string;
  readonly packageName: string;
  readonly imports: readonly string[];
  /** Top-level message types in declaration order, nested ones reachable through them. */
  readonly messages: readonly protobuf.Type[];
}

function messagesOf(namespace: protobuf.NamespaceBase): protobuf.Type[] {
  return namespace.nestedArray.filter((n): n is protobuf.Type => n instanceof protobuf.Type);
}

function parseFile(protoFile: string, source: string): ProtoFile {
  const parsed = protobuf.parse(source, { keepCase: true });
  const packageName = parsed.package ?? '';
  const pkg = packageName ? parsed.root.lookup(packageName) : parsed.root;
  if (!(pkg instanceof protobuf.Namespace))
    throw new TypeError(`${protoFile}: package ${packageName} not found`);
  return { protoFile, packageName, imports: parsed.imports ?? [], messages: messagesOf(pkg) };
}

const FILES: ReadonlyMap<string, ProtoFile> = new Map(
  Object.entries(PROTO_SOURCES).map(([file, source]) => [file, parseFile(file, source)]),
);

const LOCATIONS: ReadonlyMap<string, MessageLocation> = (() => {
  const locations = new Map<string, MessageLocation>();
  const walk = (
    file: ProtoFile,
    types: readonly protobuf.Type[],
    prefix: readonly number[],
  ): void => {
    types.forEach((type, i) => {
      const messageIndexes = [...prefix, i];
      const name = type.fullName.replace(/^\./, '');
      locations.set(name, {
        protoFile: file.protoFile,
        packageName: file.packageName,
        messageIndexes,
      });
      walk(file, messagesOf(type), messageIndexes);
    });
  };
  for (const file of FILES.values()) walk(file, file.messages, []);
  return locations;
})();

/** Where a fully qualified message type is; undefined when no Vigil file declares it. */
export function locateMessage(typeName: string): MessageLocation | undefined {
  return LOCATIONS.get(typeName);
}

/** The fully qualified type at an index path of a file, or undefined when the path leads nowhere. */
export function messageAt(
  protoFile: string,
  messageIndexes: readonly number[],
): string | undefined {
  let types = FILES.get(protoFile)?.messages;
  let found: protobuf.Type | undefined;
  for (const index of messageIndexes) {
    found = types?.[index];
    if (!found) return undefined;
    types = messagesOf(found);
  }
  return found?.fullName.replace(/^\./, '');
}

/** The import path of the file declaring a package, or undefined for a foreign package. */
export function fileOfPackage(packageName: string): string | undefined {
  for (const file of FILES.values()) if (file.packageName === packageName) return file.protoFile;
  return undefined;
}

/** Source text and direct imports of a Vigil .proto file; throws TypeError for an unknown file. */
export function protoFile(path: string): {
  readonly source: string;
  readonly imports: readonly string[];
  readonly packageName: string;
} {
  const file = FILES.get(path);
  const source = PROTO_SOURCES[path];
  if (!file || source === undefined) throw new TypeError(`unknown .proto file: ${path}`);
  return { source, imports: file.imports, packageName: file.packageName };
}
