#!/usr/bin/env bash
# CI: the integrator's example against a started platform. Installs the example, regenerates its
# client from openapi/openapi.json and type-checks it (an API change that breaks integrators fails
# here), starts `datagate serve all` on embedded PGlite in a fresh temporary data dir and a free port,
# mints the producer side's tokens with the CLI, runs the example, stops the platform and exits with
# the example's status.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$here"
if [ ! -d "$root/node_modules" ]; then
  echo "run npm ci in the repository root first: the platform runs from the checkout" >&2
  exit 2
fi

npm ci --no-audit --no-fund
committed=$(cksum <src/api.d.ts)
npm run --silent generate
if [ "$(cksum <src/api.d.ts)" != "$committed" ]; then
  echo "== note: examples/consumer/src/api.d.ts was stale and has been regenerated: commit it"
fi
npm run --silent typecheck

data_dir=$(mktemp -d "${TMPDIR:-/tmp}/datagate-example.XXXXXX")
log="$data_dir/server.log"
port=$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close() })')
url="http://127.0.0.1:$port"
server_pid=''

stop_platform () {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  server_pid=''
}
cleanup () {
  stop_platform
  rm -rf "$data_dir"
}
trap cleanup EXIT

echo "== starting the platform on $url (PGlite in $data_dir)"
DATAGATE_DATA_DIR="$data_dir" PORT="$port" HOST=127.0.0.1 LOG_LEVEL=warn \
  node "$root/bin/datagate.js" serve all >"$log" 2>&1 &
server_pid=$!

ready=''
for _ in $(seq 1 240); do
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  if node -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$url/health/ready"; then
    ready=yes
    break
  fi
  sleep 0.5
done
if [ -z "$ready" ]; then
  echo "== the platform did not become ready; its log:" >&2
  tail -n 50 "$log" >&2 || true
  exit 1
fi

# the producer side's people sign with the platform key in the data dir, as `datagate token` does
mint () { (cd "$root" && DATAGATE_DATA_DIR="$data_dir" node bin/datagate.js token --ttl 15m "$@"); }
producer=HR
consumer=LIB
admin_token=$(mint --sub example.admin --unit OFFICE --roles system_admin)
office_token=$(mint --sub example.office --unit OFFICE --roles security_admin)
steward_token=$(mint --sub hr.steward --unit "$producer" --roles steward)

echo "== running the example"
set +e
DATAGATE_URL="$url" DATAGATE_ADMIN_TOKEN="$admin_token" DATAGATE_OFFICE_TOKEN="$office_token" \
  DATAGATE_STEWARD_TOKEN="$steward_token" DATAGATE_PRODUCER_UNIT="$producer" DATAGATE_CONSUMER_UNIT="$consumer" \
  npm run --silent start
status=$?
set -e

if [ "$status" -ne 0 ]; then
  echo "== the example failed ($status); the platform's log:" >&2
  tail -n 50 "$log" >&2 || true
fi
stop_platform
exit "$status"
