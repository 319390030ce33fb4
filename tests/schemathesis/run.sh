#!/usr/bin/env bash
# schemathesis against the OpenAPI document a running order-chat serves (GET /api/v0/openapi.json):
# it generates requests from the document (valid and invalid ones) and checks every answer —
# no 500, the status, content type, headers and body as the document says, valid data accepted,
# invalid data refused.
#
#   tests/schemathesis/run.sh [DATABASE_URL]     (default: a new SQLite file)
#
# Starts `order-chat serve` (target/debug, or ORDER_CHAT_BIN) on a free loopback port, creates a
# demo order with a customer and an agent through the internal API, and runs schemathesis three
# times, because the REST API and the internal API both take `Authorization: Bearer` but with
# different secrets: the REST API with the customer's token, the internal API with the internal
# key, the operations endpoints without credentials. Settings: schemathesis.toml beside this file.
# ST_MAX_EXAMPLES (default 50) bounds the cases per operation. One worker: schemathesis's
# generator compiles code in threads, which CPython 3.11 can fail at ("AST constructor recursion
# depth mismatch").
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN=${ORDER_CHAT_BIN:-$ROOT/target/debug/order-chat}
command -v schemathesis >/dev/null 2>&1 || { echo "schemathesis is not installed (pip3 install schemathesis)" >&2; exit 1; }
[ -x "$BIN" ] || { echo "no server binary at $BIN (cargo build)" >&2; exit 1; }

WORK=$(mktemp -d /tmp/order-chat-schemathesis.XXXXXX)
DATABASE_URL=${1:-sqlite://$WORK/chat.db}
SECRET="st-access-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
KEY="st-internal-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"

cleanup() {
  set +e
  [ -n "${SERVER_PID:-}" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT

# Limits high enough that the generated traffic is not all 429s (the limits have their own tests).
JWT_ACCESS_SECRET=$SECRET INTERNAL_API_KEY=$KEY DATABASE_URL=$DATABASE_URL HOST=127.0.0.1 PORT=0 \
  STORAGE_URL="file://$WORK/files" MESSAGES_PER_SECOND=10000 MESSAGE_BURST=10000 RUST_LOG=${RUST_LOG:-warn} \
  "$BIN" serve >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
URL=
for _ in $(seq 300); do
  URL=$(grep -o 'listening on http://[^ ]*' "$WORK/server.out" 2>/dev/null | head -n 1 | cut -d' ' -f3) || true
  [ -n "$URL" ] && break
  kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.err" >&2; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { echo "the server did not start: $(cat "$WORK/server.err")" >&2; exit 1; }
echo "order-chat at $URL ($DATABASE_URL)"

# The Socket.IO declarations are served with the page.
curl -fsS -o "$WORK/order-chat.d.ts" "$URL/order-chat.d.ts" &&
  grep -q 'export interface ClientToServerEvents' "$WORK/order-chat.d.ts" ||
  { echo "/order-chat.d.ts is not served" >&2; exit 1; }

internal() {
  curl -fsS -X PUT -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    --data "$2" "$URL/api/v0/internal/$1" >/dev/null
}
internal users/st-cust '{"name":"Ada Customer","type":"customer"}'
internal users/st-agent '{"name":"Tunde Agent","type":"agent"}'
internal orders/st-order '{"orderNumber":"B2S-ST001","status":"shopping","customer":{"id":"st-cust","name":"Ada Customer"},"agents":[{"id":"st-agent","name":"Tunde Agent"}]}'

# An HS256 access token of the customer, valid for an hour.
TOKEN=$(SECRET=$SECRET python3 - <<'PY'
import base64, hashlib, hmac, json, os, time
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
body = b64(json.dumps({"user": {"id": "st-cust"}, "tokenType": "access", "exp": int(time.time()) + 3600}).encode())
sig = b64(hmac.new(os.environ["SECRET"].encode(), f"{head}.{body}".encode(), hashlib.sha256).digest())
print(f"{head}.{body}.{sig}")
PY
)
# A message to start from, so history, edits and reactions have something to find.
curl -fsS -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  --data '{"message":"Please get the ripe plantains"}' "$URL/api/v0/chat/orders/st-order/messages" >/dev/null

run() {
  local label=$1
  shift
  echo "==> schemathesis: $label"
  # From the temp folder: schemathesis keeps a cache where it runs.
  (cd "$WORK" && schemathesis --config-file "$HERE/schemathesis.toml" run "$URL/api/v0/openapi.json" \
    --checks all --max-examples "${ST_MAX_EXAMPLES:-50}" --seed "${ST_SEED:-1}" --workers 1 \
    --report junit --report-dir "$WORK/report-$label" "$@") || {
    echo "schemathesis found problems ($label); server log:" >&2
    tail -n 50 "$WORK/server.err" >&2
    return 1
  }
}
status=0
run chat --include-path-regex '^/api/v0/chat/' --exclude-operation-id upload \
  --exclude-operation-id upload_image -H "Authorization: Bearer $TOKEN" || status=1
# The uploads without the stateful phase: there schemathesis 4.32 reports a valid multipart upload
# as "schema-violating request accepted" ("Invalid component: positive test case"; the request
# it prints is a valid upload). Coverage and fuzzing test them like the rest.
run uploads --include-operation-id upload --include-operation-id upload_image \
  --phases examples,coverage,fuzzing -H "Authorization: Bearer $TOKEN" || status=1
run internal --include-path-regex '^/api/v0/internal/' -H "Authorization: Bearer $KEY" || status=1
run ops --exclude-path-regex '^/api/v0/(chat|internal)/' || status=1
exit $status
