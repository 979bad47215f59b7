"""An independent reading of Vigil's Kafka record values.

Reads JSON lines {"value": "<hex>"} on stdin and writes JSON lines on stdout:
{"schema_id", "message_indexes", "type", "message"}. Nothing here shares code with the TypeScript
codec it checks:
- the framing (magic byte, schema id, message indexes) is read by confluent-kafka's own
  deserializer code;
- the schema id is resolved through the registry's REST API to the file it names;
- the .proto files are compiled by buf (a FileDescriptorSet given as argument), because the
  Confluent Python client needs schemas in the registry's serialized form, which Apicurio does
  not serve;
- the message is chosen by the message indexes with confluent-kafka's own index walk, and decoded
  by Google's protobuf runtime.

Usage: python3 confluent_read.py <registry url> <FileDescriptorSet file>
"""
import json
import re
import sys
import urllib.request

from confluent_kafka.schema_registry._sync.protobuf import ProtobufDeserializer
from confluent_kafka.schema_registry.common.serde import SchemaId
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, empty_pb2, json_format
from google.protobuf.message_factory import GetMessageClass


def load_pool(path):
    files = descriptor_pb2.FileDescriptorSet.FromString(open(path, "rb").read())
    pool = descriptor_pool.DescriptorPool()
    for file in files.file:
        pool.Add(file)
    return pool, {f.package: f.name for f in files.file}


def main():
    registry_url, descriptor_set = sys.argv[1], sys.argv[2]
    pool, file_of_package = load_pool(descriptor_set)
    # The message class is never used: decoding goes through the writer's type below.
    confluent = ProtobufDeserializer(empty_pb2.Empty, {"use.deprecated.format": False})
    ctx = SerializationContext("any", MessageField.VALUE)
    files_by_id = {}
    for line in sys.stdin:
        value = bytes.fromhex(json.loads(line)["value"])
        schema_id = SchemaId("PROTOBUF")
        payload = confluent._schema_id_deserializer(value, ctx, schema_id)
        if schema_id.id not in files_by_id:
            with urllib.request.urlopen(f"{registry_url}/schemas/ids/{schema_id.id}") as response:
                text = json.load(response)["schema"]
            package = re.search(r"^\s*package\s+([\w.]+)\s*;", text, re.M).group(1)
            files_by_id[schema_id.id] = pool.FindFileByName(file_of_package[package])
        desc = confluent._get_message_desc(pool, files_by_id[schema_id.id], schema_id.message_indexes)
        message = GetMessageClass(desc)()
        message.ParseFromString(payload.read() if hasattr(payload, "read") else payload)
        print(json.dumps({
            "schema_id": schema_id.id,
            "message_indexes": list(schema_id.message_indexes),
            "type": desc.full_name,
            "message": json_format.MessageToDict(message),
        }), flush=True)


if __name__ == "__main__":
    main()
