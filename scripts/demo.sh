#!/usr/bin/env bash
# The main job, end to end on this machine, with real parts only:
#   1. a KWOK Kubernetes cluster and a redis-server on loopback;
#   2. the SyncPipeline CRD from `syncline crd`, refusing invalid manifests;
#   3. `syncline operator` turning a Shopify pipeline into its children until Ready;
#   4. the receiver run from the exact config the operator rendered (KWOK runs no
#      containers, so the demo runs the pods' commands itself), taking a signed Shopify
#      webhook into the Redis stream, refusing a forgery and a duplicate;
#   5. the worker writing it into the HubSpot simulator (`syncline sim hubspot`, the
#      documented API over real HTTP) as a contact, a deal and a line item, while its
#      poller imports the store's history (`syncline sim shopify`, the Admin REST API) and
#      catches an order update whose webhook the store dropped; a customer the CRM
#      refuses becomes a dead letter that `syncline dlq list` shows;
#   6. pausing the pipeline.
# Everything is torn down at the end.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/deps.sh
cargo build --quiet
syncline=$PWD/target/debug/syncline
bin=$(scripts/k8s-bins.sh --print)
dir=$(mktemp -d /tmp/syncline-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  scripts/control-plane.sh down "$dir/cp"
  rm -rf "$dir"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
k() { "$bin/kubectl" --kubeconfig "$kubeconfig" "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # seconds description command...
  local secs=$1 what=$2; shift 2
  for _ in $(seq 1 $((secs * 4))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  echo "timed out waiting for $what" >&2; return 1
}

say "starting a KWOK cluster (kube-apiserver $("$bin/kube-apiserver" --version | cut -d' ' -f2), one fake node) and redis-server"
kubeconfig=$(scripts/control-plane.sh kwok "$dir/cp" $$)
redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$dir" >/dev/null &
pids+=($!)
wait_for 10 redis redis-cli -p "$redis_port" ping

say "syncline crd | kubectl apply -f -"
$syncline crd | k apply -f -
k wait --for condition=Established crd/syncpipelines.syncline.dev --timeout=30s
k create namespace shops

say "the API server refuses invalid pipelines, naming the field (examples/invalid)"
failed=0
for f in examples/invalid/*.yaml; do
  grep -q 'syncline.dev/update-of' "$f" && continue
  expected=$(sed -n "s/.*syncline.dev\/expected-error: '\(.*\)'$/\1/p" "$f")
  if out=$(k create -n shops -f "$f" 2>&1); then
    printf '  ACCEPTED %s (must be refused)\n' "$(basename "$f")"; failed=1
  elif [[ "$out" == *"$expected"* ]]; then
    printf '  refused  %-40s %s\n' "$(basename "$f")" "$expected"
  else
    printf '  WRONG    %-40s expected: %s\n           got: %s\n' "$(basename "$f")" "$expected" "$out"; failed=1
  fi
done

say "syncline operator (runs until the demo ends)"
operator_port=$(free_port)
KUBECONFIG=$kubeconfig RUST_LOG=info,kube=warn $syncline operator --listen "127.0.0.1:$operator_port" \
  --image ghcr.io/syncline/syncline:demo >"$dir/operator.log" 2>&1 &
pids+=($!)
wait_for 20 "operator /readyz" curl -sf "http://127.0.0.1:$operator_port/readyz"

say "syncline sim hubspot: the CRM (HubSpot's API, 190 requests per 10 s)"
crm_port=$(free_port)
crm_token=$(sed -n 's/^  crmToken: //p' examples/valid/shopify.yaml)
$syncline sim hubspot --listen "127.0.0.1:$crm_port" --token "$crm_token" --requests-per-10s 190 \
  >"$dir/crm.log" 2>&1 &
pids+=($!)
wait_for 20 "HubSpot simulator" curl -sf "http://127.0.0.1:$crm_port/_sim/stats"

say "syncline sim shopify: the store (Admin REST API), with 40 orders of history from March"
store_port=$(free_port)
store_token=$(sed -n 's/^  storeToken: //p' examples/valid/shopify.yaml)
$syncline sim shopify --listen "127.0.0.1:$store_port" --token "$store_token" \
  --webhook-secret "$(sed -n 's/^  webhookSecret: //p' examples/valid/shopify.yaml)" \
  --bucket-size 400 --leak-per-second 20 >"$dir/store.log" 2>&1 &
pids+=($!)
wait_for 20 "Shopify simulator" curl -sf "http://127.0.0.1:$store_port/_sim/stats"
curl -sf -X POST "http://127.0.0.1:$store_port/_sim/seed/orders" -H 'Content-Type: application/json' \
  -d '{"count": 40, "updatedAt": "2026-03-01T00:00:00Z", "stepMs": 3600000}' >/dev/null

say "applying a Shopify pipeline and its Secret (examples/valid/shopify.yaml; Redis :$redis_port, store :$store_port, CRM :$crm_port, polling every 10s)"
sed -e "s#redis://redis.syncline-system:6379#redis://127.0.0.1:$redis_port#" \
  -e "s#^    platform: hubspot\$#    platform: hubspot\n    url: http://127.0.0.1:$crm_port#" \
  -e "s#url: https://acme.myshopify.com#url: http://127.0.0.1:$store_port#" \
  -e "s#interval: 5m#interval: 10s#" \
  examples/valid/shopify.yaml >"$dir/shopify.yaml"
k apply -n shops -f "$dir/shopify.yaml"
wait_for 90 "Ready=True" bash -c "'$bin/kubectl' --kubeconfig '$kubeconfig' get sp acme-shopify -n shops \
  -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
k get syncpipelines -n shops
k get deploy,svc,pdb,configmap -n shops -l app.kubernetes.io/instance=acme-shopify
echo
k get sp acme-shopify -n shops -o jsonpath='{range .status.conditions[*]}{.type}{"="}{.status}{" ("}{.reason}{"): "}{.message}{"\n"}{end}'
echo "webhook URL: $(k get sp acme-shopify -n shops -o jsonpath='{.status.webhookUrl}')"

say "the receiver, from the config the operator rendered into ConfigMap acme-shopify-config"
k get configmap acme-shopify-config -n shops -o jsonpath='{.data.pipeline\.yaml}' >"$dir/pipeline.yaml"
sed -n '/^---$/q;p' examples/valid/shopify.yaml >"$dir/secret.yaml"
receiver_port=$(free_port)
$syncline receiver -f "$dir/pipeline.yaml" --secrets "$dir/secret.yaml" --listen "127.0.0.1:$receiver_port" \
  >"$dir/receiver.log" 2>&1 &
pids+=($!)
wait_for 20 "receiver /readyz" curl -sf "http://127.0.0.1:$receiver_port/readyz"

secret=$(sed -n 's/^  webhookSecret: //p' "$dir/secret.yaml")
body='{"id":820982911946154508,"name":"#1001","email":"jon@example.com","created_at":"2026-11-20T10:01:02-05:00","updated_at":"2026-11-20T10:01:02-05:00","currency":"USD","total_price":"403.00","financial_status":"paid","line_items":[{"id":866550311766439020,"sku":"IPOD2008PINK","title":"IPod Nano - 8GB","quantity":2,"price":"199.00"}]}'
post() { # signature event-id
  local code
  code=$(curl -s -o "$dir/response" -w '%{http_code}' "http://127.0.0.1:$receiver_port/webhooks/shopify" \
    -H 'Content-Type: application/json' -H "X-Shopify-Hmac-Sha256: $1" -H 'X-Shopify-Topic: orders/create' \
    -H 'X-Shopify-Shop-Domain: acme.myshopify.com' -H "X-Shopify-Event-Id: $2" \
    -H "X-Shopify-Webhook-Id: wh-$2" -H 'X-Shopify-Triggered-At: 2026-11-20T15:01:02Z' --data-binary "$body")
  echo "$code $(cat "$dir/response")"
}
good=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -binary | base64)
forged=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "not-the-secret" -binary | base64)
printf '  signed delivery     -> %s\n' "$(post "$good" evt-1001)"
printf '  same delivery again -> %s\n' "$(post "$good" evt-1001)"
printf '  forged signature    -> %s\n' "$(post "$forged" evt-1002)"
stream='sl:{shops/acme-shopify}:events'
echo "  stream $stream holds $(redis-cli -p "$redis_port" XLEN "$stream") entry:"
redis-cli -p "$redis_port" XRANGE "$stream" - + | grep -A1 -E '^(delivery_id|platform|topic|object_kind|object_id|updated_at)$' \
  | grep -v -- '--' | paste - - | sed 's/^/    /'

say "the worker, from the same rendered config: stream -> HubSpot (simulator); its poller reads the store"
worker_port=$(free_port)
$syncline worker -f "$dir/pipeline.yaml" --secrets "$dir/secret.yaml" --listen "127.0.0.1:$worker_port" \
  >"$dir/worker.log" 2>&1 &
pids+=($!)
wait_for 30 "the deal in the CRM" bash -c "curl -sf http://127.0.0.1:$crm_port/_sim/objects/deals | grep -q syncline_order_key"
wait_for 10 "an empty stream" bash -c "[ \"\$(redis-cli -p $redis_port XLEN '$stream')\" = 0 ]"
echo "  the webhook's order in the CRM:"
for kind in contacts deals line_items; do
  printf '  %-10s %s\n' "$kind" "$(curl -s "http://127.0.0.1:$crm_port/_sim/objects/$kind" | python3 -c '
import json, sys
for o in json.load(sys.stdin)["results"]:
    p = o["properties"]
    if not any(v in ("jon@example.com",) or "820982911946154508" in v for v in p.values()):
        continue
    print(", ".join(f"{k}={p[k]}" for k in sorted(p) if not k.startswith("hs_") and k not in ("createdate", "lastmodifieddate")))')"
done
echo "  stream length now $(redis-cli -p "$redis_port" XLEN "$stream") (acked entries are removed)"

deals() { curl -s "http://127.0.0.1:$crm_port/_sim/objects/deals" | python3 -c "$1"; }
count_deals='import json,sys; print(len(json.load(sys.stdin)["results"]))'
amount_of_5='import json,sys; print(next((o["properties"]["amount"] for o in json.load(sys.stdin)["results"] if o["properties"].get("syncline_order_key","").endswith(":5")), "none"))'
wait_for 60 "the backfill in the CRM" bash -c "[ \"\$(curl -s http://127.0.0.1:$crm_port/_sim/objects/deals | python3 -c '$count_deals')\" = 41 ]"
wait_for 30 "status.backfill complete" bash -c "'$bin/kubectl' --kubeconfig '$kubeconfig' get sp acme-shopify -n shops \
  -o jsonpath='{.status.backfill.complete}' | grep -qx true"
echo "  the poller imported the store's history (backfillSince 2026-01-01): $(deals "$count_deals") deals in the CRM"
echo "  status.backfill: $(k get sp acme-shopify -n shops -o jsonpath='{.status.backfill}')"
echo "  status.lastPollTime: $(k get sp acme-shopify -n shops -o jsonpath='{.status.lastPollTime}')"

before=$(deals "$amount_of_5")
curl -sf -X POST "http://127.0.0.1:$store_port/_sim/webhooks" -H 'Content-Type: application/json' \
  -d "{\"url\": \"http://127.0.0.1:$receiver_port\", \"drop\": 1.0}" >/dev/null
curl -sf -X POST "http://127.0.0.1:$store_port/_sim/objects/orders" -H 'Content-Type: application/json' \
  -d '{"ids": [5]}' >/dev/null
echo "  order 5 updated in the store; its webhook was dropped (deal amount still $before)"
wait_for 60 "the poll to catch order 5" bash -c "[ \"\$(curl -s http://127.0.0.1:$crm_port/_sim/objects/deals | python3 -c '$amount_of_5')\" != '$before' ]"
echo "  the next poll caught it: deal amount $before -> $(deals "$amount_of_5")"

customer='{"id":7,"email":"not-an-email","first_name":"No","last_name":"Mail","created_at":"2026-11-20T10:00:00-05:00","updated_at":"2026-11-20T10:05:00-05:00"}'
sig=$(printf '%s' "$customer" | openssl dgst -sha256 -hmac "$secret" -binary | base64)
curl -s -o /dev/null "http://127.0.0.1:$receiver_port/webhooks/shopify" -H 'Content-Type: application/json' \
  -H "X-Shopify-Hmac-Sha256: $sig" -H 'X-Shopify-Topic: customers/update' -H 'X-Shopify-Event-Id: evt-7' \
  -H 'X-Shopify-Shop-Domain: acme.myshopify.com' --data-binary "$customer"
dead_stream='sl:{shops/acme-shopify}:dead'
wait_for 20 "the dead letter" bash -c "[ \"\$(redis-cli -p $redis_port XLEN '$dead_stream')\" = 1 ]"
echo "  a customer HubSpot refuses (invalid email) is a dead letter, with the reason:"
$syncline dlq list -f "$dir/pipeline.yaml" --secrets "$dir/secret.yaml" | sed 's/^/    /'
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
echo "  worker stopped (SIGTERM): $(tail -n1 "$dir/worker.log" | sed 's/\x1b\[[0-9;]*m//g')"

say "pausing the pipeline: workers scale to 0, the receiver keeps queueing"
k patch sp acme-shopify -n shops --type merge -p '{"spec":{"state":"Paused"}}'
wait_for 60 "workers gone" bash -c "'$bin/kubectl' --kubeconfig '$kubeconfig' get sp acme-shopify -n shops \
  -o jsonpath='{.status.workers.replicas}' | grep -qx 0"
k get syncpipelines -n shops
k get deploy -n shops
k get sp acme-shopify -n shops -o jsonpath='{range .status.conditions[?(@.type=="Ready")]}{.type}{"="}{.status}{" ("}{.reason}{"): "}{.message}{"\n"}{end}'

[ "$(deals "$count_deals")" = 41 ] || { echo "expected exactly 41 deals in the CRM"; failed=1; }
[ "$(redis-cli -p "$redis_port" XLEN "$stream")" = 0 ] || { echo "expected an empty stream"; failed=1; }
[ "$failed" -eq 0 ] || { echo "the demo saw something wrong (above)"; exit 1; }
say "demo finished; everything torn down"
