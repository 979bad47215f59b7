#!/usr/bin/env bash
# Builds the node, starts it on a scratch home, exercises the API Vigil relies on, restarts to check
# persistence and stops it. Usage: smoke-test.sh [CACHE_DIR]   (needs java, mvn, curl)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:-$HOME/.cache/vigil}
home=$(mktemp -d)
port=${ES_SMOKE_PORT:-19200}
es="http://127.0.0.1:$port"
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$home"' EXIT

mvn -q -B -f "$here/pom.xml" -Dvigil.cache="$cache" package

start() {
  local t0; t0=$(date +%s%N)
  # shellcheck disable=SC2046
  java -Xms512m -Xmx1g $(grep -v '^#' "$here/jvm.options") -cp "$cache/elasticsearch/lib/*" org.vigil.local.EsNode \
    --home "$home" --http-port "$port" --transport-port $((port + 100)) --cluster-name vigil-smoke >"$home/stdout.log" 2>&1 &
  pid=$!
  until curl -sf "$es/_cluster/health?wait_for_status=yellow&timeout=1s" >/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$home/stdout.log"; echo "node died"; exit 1; }
    sleep 0.2
  done
  echo "healthy after $(( ($(date +%s%N) - t0) / 1000000 )) ms, RSS $(( $(ps -o rss= -p "$pid") / 1024 )) MiB"
}
stop() {
  local t0; t0=$(date +%s%N)
  echo "RSS before stop $(( $(ps -o rss= -p "$pid") / 1024 )) MiB"
  kill -TERM "$pid"; local rc=0; wait "$pid" || rc=$?
  echo "stopped in $(( ($(date +%s%N) - t0) / 1000000 )) ms, exit code $rc"; pid=
  [ "$rc" = 0 ]
}
check() { # name, expected, actual
  if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: expected [$2] got [$3]"; exit 1; fi
}
j() { curl -s -H 'content-type: application/json' "$@"; }

start
check "x-elastic-product header" "Elasticsearch" "$(curl -sI "$es/_cluster/health" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-elastic-product"{print $2}')"
check "GET / version" "8" "$(j "$es/" | sed -E 's/.*"number":"([0-9]+)\..*/\1/')"
check "HEAD /" "200" "$(curl -s -o /dev/null -w '%{http_code}' -I "$es/")"
check "put index template" '{"acknowledged":true}' "$(j -XPUT "$es/_index_template/smoke" -d '{
  "index_patterns": ["smoke-*"],
  "template": {
    "settings": {"number_of_shards": 1, "number_of_replicas": 0},
    "mappings": {"dynamic": "strict", "properties": {
      "id": {"type": "keyword"}, "ts": {"type": "date"}, "ts_nanos": {"type": "date_nanos"},
      "n": {"type": "long"}, "msg": {"type": "text"}, "ip": {"type": "ip"},
      "obj": {"type": "object", "properties": {"a": {"type": "keyword"}}},
      "labels": {"type": "flattened"}, "ok": {"type": "boolean"}, "score": {"type": "double"},
      "nest": {"type": "nested", "properties": {"k": {"type": "keyword"}}}}}}}')"
bulk='{"create":{"_index":"smoke-1","_id":"a"}}
{"id":"a","ts":"2024-01-01T00:00:00Z","ts_nanos":"2024-01-01T00:00:00.123456789Z","n":1,"msg":"hello world","ip":"10.0.0.1","obj":{"a":"x"},"labels":{"k":"v","deep":{"x":"y"}},"ok":true,"score":1.5,"nest":[{"k":"p"}]}
{"create":{"_index":"smoke-1","_id":"b"}}
{"id":"b","ts":"2024-01-02T00:00:00Z","ts_nanos":"2024-01-02T00:00:00.000000001Z","n":2,"msg":"hello there","ip":"::1","obj":{"a":"y"},"labels":{"k":"w"}}
{"create":{"_index":"smoke-1","_id":"c"}}
{"id":"c","ts":1704153600000,"n":3,"msg":"bye"}
'
check "bulk create statuses" "201 201 201" "$(printf '%s' "$bulk" | j -XPOST "$es/_bulk?refresh=true" --data-binary @- | grep -o '"status":[0-9]*' | cut -d: -f2 | xargs)"
check "bulk create again -> 409" "409 409 409" "$(printf '%s' "$bulk" | j -XPOST "$es/_bulk" --data-binary @- | grep -o '"status":[0-9]*' | cut -d: -f2 | xargs)"
check "count" '3' "$(j "$es/smoke-1/_count" | sed -E 's/.*"count":([0-9]+).*/\1/')"
check "search match text" '2' "$(j "$es/smoke-1/_search?q=msg:hello" | sed -E 's/.*"total":\{"value":([0-9]+).*/\1/')"
check "search flattened" '1' "$(j "$es/smoke-1/_count" -d '{"query":{"term":{"labels.deep.x":"y"}}}' | sed -E 's/.*"count":([0-9]+).*/\1/')"
check "search ip range" '1' "$(j "$es/smoke-1/_count" -d '{"query":{"term":{"ip":"10.0.0.0/8"}}}' | sed -E 's/.*"count":([0-9]+).*/\1/')"
check "search date_nanos range" '1' "$(j "$es/smoke-1/_count" -d '{"query":{"range":{"ts_nanos":{"gt":"2024-01-01T00:00:00.123456788Z","lt":"2024-01-01T00:00:00.123456790Z"}}}}' | sed -E 's/.*"count":([0-9]+).*/\1/')"
check "terms agg" '3' "$(j "$es/smoke-1/_search?size=0" -d '{"aggs":{"ids":{"terms":{"field":"id"}}}}' | grep -o '"doc_count":1' | wc -l)"
stop

start
check "count after restart" '3' "$(j "$es/smoke-1/_count" | sed -E 's/.*"count":([0-9]+).*/\1/')"
check "delete index" '{"acknowledged":true}' "$(j -XDELETE "$es/smoke-1")"
check "index gone" '404' "$(curl -s -o /dev/null -w '%{http_code}' "$es/smoke-1")"
stop
echo "all good"
