#!/usr/bin/env bash
# The main job, end to end on this machine, with real parts only, in real pods:
#   1. a real single-node Kubernetes cluster in a network namespace of its own
#      (scripts/control-plane.sh node), and the syncline image built here and imported;
#   2. `helm install` of the chart: the CRD, the operator (2 replicas, leader election) and
#      the bundled Redis; the API server refusing invalid manifests, naming the field;
#   3. the Shopify and HubSpot simulators as pods, the store seeded with 40 orders from March;
#   4. a Shopify pipeline (examples/valid/shopify.yaml) whose receiver and worker pods run
#      under the restricted Pod Security Standard until Ready;
#   5. signed webhooks sent to the receiver's ClusterIP Service (a duplicate and a forgery
#      add nothing), written by the worker pods into the CRM as a contact, a deal and a line
#      item; the poller importing the store's history and catching an order update whose
#      webhook the store dropped; a customer the CRM refuses becoming a dead letter;
#   6. a storm with a spike (`syncline sim storm`), watched live with `kubectl get sp`;
#   7. pausing the pipeline.
# Everything in-cluster is reached from inside the node's namespace (control-plane.sh exec);
# kubectl and helm reach the API server through its loopback forwarder. Torn down at the end.
# Needs root (network namespace, cgroups, mounts).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ "$(id -u)" = 0 ] || { echo "demo.sh runs a real Kubernetes node: run it as root" >&2; exit 1; }
scripts/deps.sh
bin=$(scripts/k8s-bins.sh --print)
scripts/node-bins.sh >/dev/null
dir=$(mktemp -d /tmp/syncline-demo.XXXXXX)
cp="$dir/cp"
cleanup() {
  scripts/control-plane.sh down "$cp" >/dev/null 2>&1 || scripts/control-plane.sh down "$cp"
  rm -rf "$dir"
}
trap cleanup EXIT
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
k() { "$bin/kubectl" --kubeconfig "$cp/kubeconfig-host" "$@"; }
inside() { scripts/control-plane.sh exec "$cp" "$@"; }
wait_for() { # seconds description command...
  local secs=$1 what=$2; shift 2
  for _ in $(seq 1 $((secs * 2))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "timed out waiting for $what" >&2; return 1
}
crm() { inside curl -sf "http://hubspot-sim.shops.svc.cluster.local:8090$1"; }
store() { inside curl -sf -H 'Content-Type: application/json' "http://shopify-sim.shops.svc.cluster.local:8091$1" "${@:2}"; }
rcli() { inside redis-cli -h syncline-redis.syncline-system.svc.cluster.local "$@"; }
receiver=http://acme-shopify-receiver.shops.svc.cluster.local:8080
failed=0

say "building the syncline image (release binary) and bringing up a real node"
scripts/image.sh >/dev/null
syncline=${CARGO_TARGET_DIR:-$PWD/target}/release/syncline
scripts/control-plane.sh node "$cp" $$ >/dev/null
k get nodes -o wide | cut -c1-100
scripts/image.sh --binary "$syncline" --import "$cp" >/dev/null
scripts/image.sh --redis --import "$cp" >/dev/null
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
redis_tag=$(ctr --address "$cp/containerd/containerd.sock" -n k8s.io images ls -q | sed -n 's/^localhost\/syncline-redis://p' | head -n1)

say "helm install syncline charts/syncline (operator x2, leader election, bundled Redis)"
for ns in syncline-system shops; do
  k create namespace "$ns" >/dev/null
  k label namespace "$ns" pod-security.kubernetes.io/enforce=restricted >/dev/null
done
"$bin/helm" --kubeconfig "$cp/kubeconfig-host" install syncline charts/syncline -n syncline-system \
  --set image.repository=localhost/syncline --set-string image.tag="$version" --set image.pullPolicy=Never \
  --set queueSampleInterval=2s --set queueStatusInterval=2s --set resync=30s --set redis.enabled=true \
  --set redis.image.repository=localhost/syncline-redis --set-string redis.image.tag="$redis_tag" \
  --set redis.image.pullPolicy=Never --wait --timeout 180s >/dev/null
k get pods -n syncline-system
echo "leader: $(k get lease syncline-operator -n syncline-system -o jsonpath='{.spec.holderIdentity}')"

say "the API server refuses invalid pipelines, naming the field (examples/invalid)"
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

say "the store and the CRM as pods: syncline sim shopify, syncline sim hubspot (190 requests per 10 s)"
sed -n '/^---$/q;p' examples/valid/shopify.yaml | k apply -n shops -f - >/dev/null
sed "s#IMAGE#localhost/syncline:$version#" examples/demo/simulators.yaml | k apply -n shops -f - >/dev/null
k rollout status -n shops deploy/hubspot-sim --timeout=120s >/dev/null
k rollout status -n shops deploy/shopify-sim --timeout=120s >/dev/null
wait_for 30 "the store simulator's Service" store /_sim/stats
store /_sim/seed/orders -X POST -d '{"count": 40, "updatedAt": "2026-03-01T00:00:00Z", "stepMs": 3600000}' >/dev/null
echo "  the store holds 40 orders from March"

say "kubectl apply the Shopify pipeline (examples/valid/shopify.yaml, polling every 10s)"
sed -e "s#redis://redis.syncline-system:6379#redis://syncline-redis.syncline-system:6379#" \
  -e "s#^    platform: hubspot\$#    platform: hubspot\n    url: http://hubspot-sim.shops.svc.cluster.local:8090#" \
  -e "s#url: https://acme.myshopify.com#url: http://shopify-sim.shops.svc.cluster.local:8091#" \
  -e "s#interval: 5m#interval: 10s#" -e "s#replicas: 2#replicas: 1#" \
  examples/valid/shopify.yaml | sed '1,/^---$/d' >"$dir/shopify.yaml"
started=$(date +%s.%N)
k apply -n shops -f "$dir/shopify.yaml"
wait_for 180 "Ready=True" bash -c "'$bin/kubectl' --kubeconfig '$cp/kubeconfig-host' get sp acme-shopify -n shops \
  -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
echo "  Ready=True $(python3 -c "import time; print(f'{time.time() - $started:.1f}')") s after kubectl apply"
k get syncpipelines -n shops
k get pods -n shops -l app.kubernetes.io/instance=acme-shopify -o wide | cut -c1-110
k get sp acme-shopify -n shops -o jsonpath='{range .status.conditions[*]}{.type}{"="}{.status}{" ("}{.reason}{"): "}{.message}{"\n"}{end}'

say "signed Shopify webhooks to the receiver's Service ($receiver)"
secret=$(sed -n 's/^  webhookSecret: //p' examples/valid/shopify.yaml)
body='{"id":820982911946154508,"name":"#1001","email":"jon@example.com","created_at":"2026-11-20T10:01:02-05:00","updated_at":"2026-11-20T10:01:02-05:00","currency":"USD","total_price":"403.00","financial_status":"paid","line_items":[{"id":866550311766439020,"sku":"IPOD2008PINK","title":"IPod Nano - 8GB","quantity":2,"price":"199.00"}]}'
post() { # signature event-id
  inside curl -s -w ' (HTTP %{http_code})' "$receiver/webhooks/shopify" \
    -H 'Content-Type: application/json' -H "X-Shopify-Hmac-Sha256: $1" -H 'X-Shopify-Topic: orders/create' \
    -H 'X-Shopify-Shop-Domain: acme.myshopify.com' -H "X-Shopify-Event-Id: $2" \
    -H "X-Shopify-Webhook-Id: wh-$2" -H 'X-Shopify-Triggered-At: 2026-11-20T15:01:02Z' --data-binary "$body"
}
good=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$secret" -binary | base64)
forged=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "not-the-secret" -binary | base64)
printf '  signed delivery     -> %s\n' "$(post "$good" evt-1001)"
printf '  same delivery again -> %s\n' "$(post "$good" evt-1001)"
printf '  forged signature    -> %s\n' "$(post "$forged" evt-1002)"
wait_for 30 "the deal in the CRM" bash -c "scripts/control-plane.sh exec '$cp' curl -sf \
  http://hubspot-sim.shops.svc.cluster.local:8090/_sim/objects/deals | grep -q 820982911946154508"
echo "  the worker pod wrote the webhook's order into the CRM:"
for kind in contacts deals line_items; do
  printf '  %-10s %s\n' "$kind" "$(crm "/_sim/objects/$kind" | python3 -c '
import json, sys
for o in json.load(sys.stdin)["results"]:
    p = o["properties"]
    if not any(v in ("jon@example.com",) or "820982911946154508" in v for v in p.values()):
        continue
    print(", ".join(f"{k}={p[k]}" for k in sorted(p) if not k.startswith("hs_") and k not in ("createdate", "lastmodifieddate")))')"
done
stream='sl:{shops/acme-shopify}:events'

say "the poller (in a worker pod) imports the store's history and catches a dropped webhook"
count_deals='import json,sys; print(len(json.load(sys.stdin)["results"]))'
amount_of_5='import json,sys; print(next((o["properties"]["amount"] for o in json.load(sys.stdin)["results"] if o["properties"].get("syncline_order_key","").endswith(":5")), "none"))'
deals() { crm /_sim/objects/deals | python3 -c "$1"; }
wait_for 90 "the backfill in the CRM" bash -c "[ \"\$(scripts/control-plane.sh exec '$cp' curl -sf \
  http://hubspot-sim.shops.svc.cluster.local:8090/_sim/objects/deals | python3 -c '$count_deals')\" = 41 ]"
wait_for 30 "status.backfill complete" bash -c "'$bin/kubectl' --kubeconfig '$cp/kubeconfig-host' get sp acme-shopify -n shops \
  -o jsonpath='{.status.backfill.complete}' | grep -qx true"
echo "  backfillSince 2026-01-01: $(deals "$count_deals") deals in the CRM; status.backfill: $(k get sp acme-shopify -n shops -o jsonpath='{.status.backfill}')"
before=$(deals "$amount_of_5")
store /_sim/webhooks -X POST -d "{\"url\": \"$receiver\", \"drop\": 1.0}" >/dev/null
store /_sim/objects/orders -X POST -d '{"ids": [5]}' >/dev/null
echo "  order 5 updated in the store; its webhook was dropped (deal amount still $before)"
wait_for 60 "the poll to catch order 5" bash -c "[ \"\$(scripts/control-plane.sh exec '$cp' curl -sf \
  http://hubspot-sim.shops.svc.cluster.local:8090/_sim/objects/deals | python3 -c '$amount_of_5')\" != '$before' ]"
echo "  the next poll caught it: deal amount $before -> $(deals "$amount_of_5")"

customer='{"id":7,"email":"not-an-email","first_name":"No","last_name":"Mail","created_at":"2026-11-20T10:00:00-05:00","updated_at":"2026-11-20T10:05:00-05:00"}'
sig=$(printf '%s' "$customer" | openssl dgst -sha256 -hmac "$secret" -binary | base64)
inside curl -s -o /dev/null "$receiver/webhooks/shopify" -H 'Content-Type: application/json' \
  -H "X-Shopify-Hmac-Sha256: $sig" -H 'X-Shopify-Topic: customers/update' -H 'X-Shopify-Event-Id: evt-7' \
  -H 'X-Shopify-Shop-Domain: acme.myshopify.com' --data-binary "$customer"
wait_for 30 "the dead letter" bash -c "[ \"\$(scripts/control-plane.sh exec '$cp' redis-cli -h \
  syncline-redis.syncline-system.svc.cluster.local XLEN 'sl:{shops/acme-shopify}:dead')\" = 1 ]"
echo "  a customer HubSpot refuses (invalid email) is a dead letter; syncline dlq list says why:"
k get configmap acme-shopify-config -n shops -o jsonpath='{.data.pipeline\.yaml}' >"$dir/pipeline.yaml"
sed -n '/^---$/q;p' examples/valid/shopify.yaml >"$dir/secret.yaml"
inside "$syncline" dlq list -f "$dir/pipeline.yaml" --secrets "$dir/secret.yaml" | sed 's/^/    /'

say "a storm with a spike through the receiver Service: 20/s for 5 s, 150/s for 10 s, 20/s for 5 s"
echo "  the CRM now answers in 300 ms, so one worker cannot use the whole budget: the operator adds"
echo "  workers from the lag until their reports say the budget is saturated (RateLimited)"
inside curl -sf -X POST -H 'Content-Type: application/json' -d '{"latencyMs": 300}' \
  http://hubspot-sim.shops.svc.cluster.local:8090/_sim/faults >/dev/null
inside "$syncline" sim storm --target "$receiver" --secret "$secret" \
  --profile 20x5,150x10,20x5 --orders 500 --first-id 100000 --duplicates 0.05 --out-of-order 0.05 \
  --crm http://hubspot-sim.shops.svc.cluster.local:8090 --settle 120s \
  --redis redis://syncline-redis.syncline-system.svc.cluster.local:6379 --pipeline shops/acme-shopify \
  >"$dir/storm.json" 2>"$dir/storm.log" &
storm=$!
live='{.status.workers.readyReplicas}/{.status.workers.desiredReplicas} lag {.status.queue.lag} drain {.status.queue.drainSeconds}s {.status.conditions[?(@.type=="ScalingActive")].reason}'
view() { printf '  %s\n      workers %s\n' "$(tail -n1 "$dir/storm.log" 2>/dev/null)" "$(k get sp acme-shopify -n shops -o jsonpath="$live")"; }
while kill -0 "$storm" 2>/dev/null; do view; sleep 2; done
wait "$storm"
for _ in $(seq 1 60); do
  view
  [ "$(rcli XLEN "sl:{shops/acme-shopify}:events")" = 0 ] && break
  sleep 2
done
python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
print("  storm: sent %d, acknowledged %d, non-2xx %d, no answer %d, %.0f/s, receiver p50 %.1f ms p99 %.1f ms" % (
    s["sent"], s["acknowledged"], sum(s["statuses"].values()), s["errors"], s["rate"], s["p50Ms"], s["p99Ms"]))
t = s.get("settled") or {}
print("  synced %s of %s orders at their newest version %.1f s after the last send" % (
    t.get("synced"), t.get("expected"), t.get("seconds", 0.0)))
' "$dir/storm.json"
newest=$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["newestAcknowledged"]))' "$dir/storm.json")
landed='import json,sys
want = json.loads(sys.argv[1])
have = {}
for o in json.load(sys.stdin)["results"]:
    key = o["properties"].get("syncline_order_key", "")
    have.setdefault(key.rsplit(":", 1)[-1], []).append(float(o["properties"].get("amount") or 0))
print(sum(1 for i, v in want.items() if have.get(i) == [float(v)]), "of", len(want))'
wait_for 120 "the storm's orders in the CRM" bash -c "scripts/control-plane.sh exec '$cp' curl -sf \
  http://hubspot-sim.shops.svc.cluster.local:8090/_sim/objects/deals | python3 -c '$landed' '$newest' | grep -Eq '^([0-9]+) of \\1\$'"
echo "  every acknowledged order in the CRM once, at its newest version: $(crm /_sim/objects/deals | python3 -c "$landed" "$newest")"
crm /_sim/writes >"$dir/writes.json"
echo "  $(scripts/latency.py "$dir/storm.json" "$dir/writes.json")"
k get events -n shops --field-selector involvedObject.name=acme-shopify,reason=ScaledUp -o custom-columns=NOTE:.message --no-headers 2>/dev/null | sed 's/^/  ScaledUp   /' | tail -n 4
k get events -n shops --field-selector involvedObject.name=acme-shopify,reason=ScaledDown -o custom-columns=NOTE:.message --no-headers 2>/dev/null | sed 's/^/  ScaledDown /' | tail -n 2
k get syncpipelines -n shops

say "pausing the pipeline: worker pods stop (SIGTERM, batch in hand acknowledged), the receiver keeps queueing"
k patch sp acme-shopify -n shops --type merge -p '{"spec":{"state":"Paused"}}'
wait_for 90 "no worker pods" bash -c "[ -z \"\$('$bin/kubectl' --kubeconfig '$cp/kubeconfig-host' get pods -n shops \
  -l app.kubernetes.io/instance=acme-shopify,app.kubernetes.io/component=worker -o name)\" ]"
k get syncpipelines -n shops
k get sp acme-shopify -n shops -o jsonpath='{range .status.conditions[?(@.type=="Ready")]}{.type}{"="}{.status}{" ("}{.reason}{"): "}{.message}{"\n"}{end}'

[ "$(rcli XLEN "$stream")" = 0 ] || { echo "expected an empty stream"; failed=1; }
[ "$(rcli XLEN 'sl:{shops/acme-shopify}:dead')" = 1 ] || { echo "expected exactly one dead letter"; failed=1; }
[ "$failed" -eq 0 ] || { echo "the demo saw something wrong (above)"; exit 1; }
say "demo finished; tearing the node down"
