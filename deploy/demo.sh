#!/usr/bin/env bash
# make demo: the whole service on this machine, end to end, then everything it
# started is stopped. Each run uses its own topics and application id on the
# local broker, so runs are repeatable and never see each other's state.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
KAFKA=deploy/kafka/kafka.sh
run="$(date -u +%Y%m%d%H%M%S)"
demo_dir=".local/demo/$run"
mkdir -p "$demo_dir"

export SAHELWATCH_APP_ID="sahelwatch-demo-$run"
export SAHELWATCH_DATA_DIR="$demo_dir/store"
export SAHELWATCH_WEB_PORT="${SAHELWATCH_WEB_PORT:-6066}"
for t in raw tagged duplicates deadletter; do
    export "SAHELWATCH_TOPIC_${t^^}=demo-$run.articles.$t"
done
export SAHELWATCH_TOPIC_ALERTS_ACTORS="demo-$run.alerts.actors"
export SAHELWATCH_TOPIC_ALERTS_INTERVENTION="demo-$run.alerts.intervention"

started_kafka=0 worker_pid="" subscriber_pid=""
cleanup() {
    [ -n "$subscriber_pid" ] && kill "$subscriber_pid" 2>/dev/null || true
    if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
        echo "==> stopping the worker (SIGTERM)"
        kill -TERM "$worker_pid"; wait "$worker_pid" 2>/dev/null || true
    fi
    if "$KAFKA" status >/dev/null 2>&1; then
        "$BIN/sahelwatch" topics delete >/dev/null 2>&1 || true
    fi
    rm -rf "$demo_dir/store"
    if [ "$started_kafka" = 1 ]; then
        echo "==> stopping Kafka (the demo started it)"
        "$KAFKA" down
    fi
}
trap cleanup EXIT

if ! "$KAFKA" status >/dev/null 2>&1; then
    echo "==> starting Kafka 3.9.1 on 127.0.0.1:9092"
    "$KAFKA" up
    started_kafka=1
fi

echo "==> creating this run's topics (demo-$run.*)"
"$BIN/sahelwatch" topics create

echo "==> starting a worker (log: $demo_dir/worker.log)"
"$BIN/sahelwatch" worker >"$demo_dir/worker.log" 2>&1 &
worker_pid=$!
for _ in $(seq 1 120); do
    if curl -fsS "http://127.0.0.1:$SAHELWATCH_WEB_PORT/health" >/dev/null 2>&1; then break; fi
    kill -0 "$worker_pid" 2>/dev/null || { echo "worker died:"; tail -40 "$demo_dir/worker.log"; exit 1; }
    sleep 0.5
done
curl -fsS "http://127.0.0.1:$SAHELWATCH_WEB_PORT/health" && echo

scenario=tests/fixtures/scenarios/week_august_2023.jsonl
echo "==> publishing a week of August 2023 ($(grep -c . "$scenario") articles) as a live feed would: five minutes of it"
echo "    at a time, each once the worker has output the last (--paced), so it raises the alerts \`sahelwatch replay\` does"
"$BIN/sahelwatch" publish --paced "$scenario"
echo "==> the alerts it raised (alerts.intervention, alerts.actors):"
"$BIN/sahelwatch" subscribe --from-beginning --format pretty --timeout 5

expected=$((16 + 2 + 1))
seeds=()
if [ -d ../shared/seeds ]; then
    seeds=(../shared/seeds/*.txt)
    expected=$((expected + ${#seeds[@]}))
fi
echo "==> watching articles.tagged, articles.duplicates and articles.deadletter for the next $expected messages"
"$BIN/sahelwatch" subscribe --format pretty --max "$expected" --timeout 60 \
    --topic "$SAHELWATCH_TOPIC_TAGGED" --topic "$SAHELWATCH_TOPIC_DUPLICATES" --topic "$SAHELWATCH_TOPIC_DEADLETTER" &
subscriber_pid=$!
sleep 2  # let the subscriber join before anything is published
echo "==> publishing the project's sample articles, the shared seeds and one malformed record"
echo "    (dated 26 July to 12 August 2023, before the week's last articles: tagged and deduplicated as usual, but more"
echo "    than the rules' allowed lateness behind the alert windows' watermark, so they change no alert: sahelwatch_late_articles_total)"
"$BIN/sahelwatch" publish examples/articles.jsonl examples/page.html
"$BIN/sahelwatch" publish --source sahel-dispatch.example --published-at 2023-08-07T09:00:00+00:00 examples/note.txt
if [ ${#seeds[@]} -gt 0 ]; then
    "$BIN/sahelwatch" publish --source english.almayadeen.net --published-at 2023-08-09T13:00:00+00:00 "${seeds[@]}"
fi
echo '{"id": "broken", "title": ' | "$BIN/sahelwatch" publish --raw -
wait "$subscriber_pid" || true
subscriber_pid=""
echo "==> worker metrics (sahelwatch_*)"
curl -fsS "http://127.0.0.1:$SAHELWATCH_WEB_PORT/metrics" | grep -E '^sahelwatch_(articles|duplicates|dead_letters|alerts|late)' || true
