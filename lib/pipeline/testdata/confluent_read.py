"""An independent reading of Vigil's Kafka record values, with Confluent's own Python client.

Reads JSON lines {"value": "<hex>"} on stdin and writes JSON lines on stdout:
{"schema_id", "message_indexes", "type", "message"}. The framing is read by confluent-kafka's
schema id deserializer, the writer schema (with its references) is fetched from the registry by
id, the message is chosen by the frame's message indexes and decoded by Google's protobuf runtime.
Nothing here shares code with the TypeScript codec it checks.

Usage: python3 confluent_read.py <registry url>
"""
import json
import sys

from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry._sync.protobuf import ProtobufDeserializer
from confluent_kafka.schema_registry.protobuf import SchemaId
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import json_format
from google.protobuf.message_factory import GetMessageClass


class WriterSchemaReader(ProtobufDeserializer):
    """Decodes with the writer's schema and the frame's message indexes (no reader class)."""

    def read(self, data, ctx):
        schema_id = SchemaId("PROTOBUF")
        payload = self._schema_id_deserializer(data, ctx, schema_id)
        writer_raw = self._get_writer_schema(schema_id, None, fmt="serialized")
        fd_proto, pool = self._get_parsed_schema(writer_raw)
        file_desc = pool.FindFileByName(fd_proto.name)
        desc = self._get_message_desc(pool, file_desc, schema_id.message_indexes)
        message = GetMessageClass(desc)()
        message.ParseFromString(payload.read() if hasattr(payload, "read") else payload)
        return schema_id, desc.full_name, message


def main():
    registry = SchemaRegistryClient({"url": sys.argv[1]})
    # The message class passed here is never used for decoding; read() picks the writer's type.
    from google.protobuf import empty_pb2

    reader = WriterSchemaReader(empty_pb2.Empty, {"use.deprecated.format": False}, registry)
    ctx = SerializationContext("any", MessageField.VALUE)
    for line in sys.stdin:
        value = bytes.fromhex(json.loads(line)["value"])
        schema_id, full_name, message = reader.read(value, ctx)
        print(json.dumps({
            "schema_id": schema_id.id,
            "message_indexes": list(schema_id.message_indexes),
            "type": full_name,
            "message": json_format.MessageToDict(message, preserving_proto_field_name=False),
        }), flush=True)


if __name__ == "__main__":
    main()
