#!/bin/bash
# The cost of one /metrics scrape on a coordinator holding 1,000 jobs (pending, no workers):
# ten scrapes on new connections (total and TLS handshake), then 20 on one kept-alive
# connection (what Prometheus does). Usage: bench/scrape_cost.sh (GANTRY=path/to/gantry).
set -e
d=$(mktemp -d /tmp/http-scrape-XXXXXX)
B=${GANTRY:-$(dirname "$0")/../build/bin/gantry}
$B coordinator --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 --data-dir $d/c > $d/out 2> $d/err &
pid=$!
for i in $(seq 50); do [ -s $d/out ] && [ $(wc -l < $d/out) -ge 2 ] && break; sleep 0.1; done
addr=$(sed -n 1p $d/out | awk '{print $NF}'); url=$(sed -n 2p $d/out | awk '{print $NF}')
printf 'name: p\nstages:\n  - name: main\n    resources: { cpu: 0.1, memory: 16MiB }\n    command: [ "true" ]\n' > $d/m.yaml
for i in $(seq 1000); do $B submit $d/m.yaml --allow-unschedulable --coordinator $addr --token-file $d/c/tokens/admin --ca $d/c/tls/ca.crt > /dev/null; done
T=$(cat $d/c/tokens/admin)
curl -s --cacert $d/c/tls/ca.crt -H "Authorization: Bearer $T" $url/metrics | grep 'gantry_jobs{queue="default",state="pending"}'
for i in 1 2 3; do curl -s -o /dev/null --cacert $d/c/tls/ca.crt -H "Authorization: Bearer $T" $url/metrics; done
for n in 1 2 3 4 5 6 7 8 9 10; do
  curl -s -o /dev/null -w '%{time_total} %{time_appconnect} %{size_download}\n' --cacert $d/c/tls/ca.crt -H "Authorization: Bearer $T" $url/metrics
done
echo "keep-alive, 20 scrapes on one connection:"
args=(); for n in $(seq 20); do args+=(-o /dev/null $url/metrics); done
/usr/bin/time -f "%e s wall" curl -s --cacert $d/c/tls/ca.crt -H "Authorization: Bearer $T" -w '%{time_total}\n' "${args[@]}" | tail -3
kill $pid; wait $pid 2>/dev/null || true
rm -rf $d
