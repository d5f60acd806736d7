#!/usr/bin/env bash
# Run a real Apache Kafka broker locally: single node, KRaft, broker and
# controller in one JVM, jars from Maven Central, no Docker.
#
#   deploy/kafka/kafka.sh fetch|up|down|status|reset|logs [tail args]
#
# Every path and port comes from the environment (see usage below), so several
# instances can run side by side with different ports and state dirs.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
REPO_ROOT="$(cd "$SCRIPT_DIR/../.." && pwd -P)"

KAFKA_VERSION="${KAFKA_VERSION:-3.9.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
KAFKA_STATE_DIR="${KAFKA_STATE_DIR:-$REPO_ROOT/.local/kafka}"
KAFKA_LIBS_DIR="${KAFKA_LIBS_DIR:-$REPO_ROOT/.local/kafka-libs/$KAFKA_VERSION}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
# For tests of secured brokers: a file of properties appended to the generated
# config (a later key wins), and extra StorageTool format arguments such as
# "--add-scram SCRAM-SHA-512=[name=alice,password=alice-secret]".
KAFKA_EXTRA_PROPERTIES="${KAFKA_EXTRA_PROPERTIES:-}"
KAFKA_FORMAT_ARGS="${KAFKA_FORMAT_ARGS:-}"

# Pinned: Maven 3.8 does not pin this plugin, so an unpinned call would resolve
# whatever version the local repository or Central offers.
DEPENDENCY_PLUGIN="org.apache.maven.plugins:maven-dependency-plugin:3.6.1"
READY_TIMEOUT_S=90
STOP_TIMEOUT_S=30
READY_LOG_LINE="Kafka Server started"

usage() {
    cat <<EOF
usage: $(basename "$0") fetch|up|down|status|reset|logs [tail args]

  fetch    download the broker jars into KAFKA_LIBS_DIR (once per version)
  up       fetch, format storage once, start the broker, wait until ready
  down     stop the broker (SIGTERM, then SIGKILL after ${STOP_TIMEOUT_S}s)
  status   exit 0 if running and answering, 1 otherwise
  reset    down, then delete the broker's data (the jar cache is kept)
  logs     tail the broker log (default: -n 50 -F)

environment (current value):
  KAFKA_VERSION=$KAFKA_VERSION
  KAFKA_PORT=$KAFKA_PORT
  KAFKA_CONTROLLER_PORT=$KAFKA_CONTROLLER_PORT
  KAFKA_STATE_DIR=$KAFKA_STATE_DIR
  KAFKA_LIBS_DIR=$KAFKA_LIBS_DIR
  KAFKA_HEAP_OPTS=$KAFKA_HEAP_OPTS
EOF
}

die() {  # die EXIT_CODE MESSAGE...
    local code="$1"; shift
    echo "kafka.sh: $*" >&2
    exit "$code"
}

# --- paths -----------------------------------------------------------------

# log.dirs must be absolute, and the pid file check must not depend on the
# caller's working directory, so resolve the state dir once. Only `up` creates
# it: `status` or `down` on a mistyped dir should not leave empty dirs behind.
resolve_state_dir() {  # resolve_state_dir [--create]
    if [[ "${1:-}" == --create ]]; then mkdir -p "$KAFKA_STATE_DIR"; fi
    if [[ -d "$KAFKA_STATE_DIR" ]]; then
        KAFKA_STATE_DIR="$(cd "$KAFKA_STATE_DIR" && pwd -P)"
    elif [[ "$KAFKA_STATE_DIR" != /* ]]; then
        KAFKA_STATE_DIR="$PWD/$KAFKA_STATE_DIR"
    fi
    DATA_DIR="$KAFKA_STATE_DIR/data"
    LOG_DIR="$KAFKA_STATE_DIR/logs"
    LOG_FILE="$LOG_DIR/server.log"
    LIFECYCLE_FILE="$LOG_DIR/lifecycle.log"  # start and stop lines only, never rolled (log4j.properties)
    OUT_FILE="$LOG_DIR/kafka.out"        # JVM stdout/stderr (crashes land here)
    PID_FILE="$KAFKA_STATE_DIR/kafka.pid"
    CLUSTER_ID_FILE="$KAFKA_STATE_DIR/cluster.id"
    CONFIG_FILE="$KAFKA_STATE_DIR/server.properties"
}

# Serialise concurrent runs on the same resource (e.g. two test sessions
# calling `up` at once) instead of racing to start two brokers. The lock fd
# must not leak into the broker, see start_broker.
take_lock() {  # take_lock LOCK_FILE
    command -v flock >/dev/null 2>&1 || return 0   # e.g. macOS: best effort
    exec 9>"$1"
    flock -w 300 9 || die 1 "could not lock $1 within 300 s"
}

release_lock() {
    exec 9>&- 2>/dev/null || true
}

# --- prerequisites ---------------------------------------------------------

require_java() {
    command -v java >/dev/null 2>&1 \
        || die 2 "Java 17+ is required: apt-get install openjdk-17-jre-headless"
    # `java -version` prints e.g. 'openjdk version "17.0.15" ...' or '"1.8.0_402"'.
    local version major
    version="$(java -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
    major="${version%%.*}"
    if [[ "$major" == 1 ]]; then major="$(cut -d. -f2 <<<"$version")"; fi
    [[ "$major" =~ ^[0-9]+$ && "$major" -ge 17 ]] \
        || die 2 "Java 17+ is required (found '${version:-unknown}'): apt-get install openjdk-17-jre-headless"
}

require_maven() {
    command -v mvn >/dev/null 2>&1 || die 2 "Maven is required: apt-get install maven"
}

# --- fetch -------------------------------------------------------------------

cmd_fetch() {
    require_java
    local marker="$KAFKA_LIBS_DIR/.fetched-$KAFKA_VERSION"
    if [[ -f "$marker" ]]; then return 0; fi

    mkdir -p "$(dirname "$KAFKA_LIBS_DIR")"
    take_lock "$KAFKA_LIBS_DIR.lock"
    if [[ -f "$marker" ]]; then   # another process fetched while we waited
        release_lock
        return 0
    fi
    # Maven is only needed for the download itself: a filled cache suffices.
    require_maven

    echo "Fetching Kafka $KAFKA_VERSION jars into $KAFKA_LIBS_DIR (first time only)..."
    local start tmp
    start="$(date +%s)"
    # Download into a sibling temp dir and move it into place at the end, so an
    # interrupted fetch never leaves a half-filled folder that looks complete.
    tmp="$(mktemp -d "$KAFKA_LIBS_DIR.tmp.XXXXXX")"
    # Maven's output (even with -q it prints stray colour codes) is shown only
    # when it fails.
    local mvn_out
    if ! mvn_out="$(mvn -B -q -f "$SCRIPT_DIR/pom.xml" \
            "$DEPENDENCY_PLUGIN:copy-dependencies" \
            -Dkafka.version="$KAFKA_VERSION" \
            -DincludeScope=runtime \
            -DoutputDirectory="$tmp" 2>&1)"; then
        rm -rf "$tmp"
        echo "$mvn_out" >&2
        die 1 "Maven could not fetch org.apache.kafka:kafka_2.13:$KAFKA_VERSION (see above)"
    fi
    ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 \
        || { rm -rf "$tmp"; die 1 "Maven ran but no kafka_2.13 jar landed in $tmp"; }
    echo "$KAFKA_VERSION" >"$tmp/.fetched-$KAFKA_VERSION"
    rm -rf "$KAFKA_LIBS_DIR"
    mv "$tmp" "$KAFKA_LIBS_DIR"
    release_lock
    echo "Fetched $(find "$KAFKA_LIBS_DIR" -name '*.jar' | wc -l) jars" \
         "($(du -sh "$KAFKA_LIBS_DIR" | cut -f1)) in $(( $(date +%s) - start )) s"
}

# --- process helpers -------------------------------------------------------

# The JVM command line shared by the storage tool and the broker. The classpath
# wildcard stays quoted: Java, not the shell, must expand it.
kafka_java_cmd() {  # sets the array JAVA_CMD
    local heap
    read -r -a heap <<<"$KAFKA_HEAP_OPTS"   # a list of JVM flags
    JAVA_CMD=(java "${heap[@]}" -cp "$KAFKA_LIBS_DIR/*"
              -Dlog4j.configuration="file:$SCRIPT_DIR/log4j.properties"
              -Dkafka.logs.dir="$LOG_DIR")
}

port_open() {  # port_open PORT -> 0 if something accepts on 127.0.0.1:PORT
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# The pid from the pid file, if that process is alive and is *this* instance's
# broker (a pid can be reused by an unrelated process after a crash/reboot).
broker_pid() {
    [[ -f "$PID_FILE" ]] || return 1
    local pid
    pid="$(<"$PID_FILE")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    ps -ww -p "$pid" -o args= 2>/dev/null | grep -qF -- "kafka.Kafka $CONFIG_FILE" || return 1
    echo "$pid"
}

remove_stale_pid_file() {
    if [[ -f "$PID_FILE" ]] && ! broker_pid >/dev/null; then
        echo "Removing stale pid file $PID_FILE"
        rm -f "$PID_FILE"
    fi
}

print_log_tail() {
    local f
    for f in "$LOG_FILE" "$OUT_FILE"; do
        [[ -s "$f" ]] || continue
        echo "----- last 40 lines of $f -----" >&2
        tail -n 40 "$f" >&2
    done
}

# --- up ----------------------------------------------------------------------

# Substitute the template's @PLACEHOLDERS@ in pure bash. The replacement is
# quoted so bash 5.2's patsub_replacement does not treat '&' in a path specially.
render_config() {
    local line
    {
        echo "# Generated by deploy/kafka/kafka.sh from server.properties.in; do not edit."
        while IFS= read -r line || [[ -n "$line" ]]; do
            line="${line//@PORT@/"$KAFKA_PORT"}"
            line="${line//@CONTROLLER_PORT@/"$KAFKA_CONTROLLER_PORT"}"
            line="${line//@DATA_DIR@/"$DATA_DIR"}"
            echo "$line"
        done <"$SCRIPT_DIR/server.properties.in"
        if [[ -n "$KAFKA_EXTRA_PROPERTIES" ]]; then
            echo "# Appended from $KAFKA_EXTRA_PROPERTIES"
            cat "$KAFKA_EXTRA_PROPERTIES"
        fi
    } >"$CONFIG_FILE.tmp"
    mv "$CONFIG_FILE.tmp" "$CONFIG_FILE"
}

# Format once per state dir; the cluster id is kept so that formatting again
# (e.g. after a manual data wipe) stays consistent with earlier runs.
format_storage() {
    local out
    if [[ ! -s "$CLUSTER_ID_FILE" ]]; then
        out="$("${JAVA_CMD[@]}" kafka.tools.StorageTool random-uuid 2>&1)" \
            || die 1 "could not generate a cluster id (StorageTool random-uuid):"$'\n'"$out"
        # Java prints JVM errors on stdout too: only accept what looks like an id.
        [[ "$out" =~ ^[A-Za-z0-9_-]{22}$ ]] \
            || die 1 "unexpected output from StorageTool random-uuid:"$'\n'"$out"
        echo "$out" >"$CLUSTER_ID_FILE"
    fi
    # Already formatted: skip the extra JVM start (a couple of seconds).
    if [[ -f "$DATA_DIR/meta.properties" ]]; then return 0; fi
    echo "Formatting storage in $DATA_DIR (cluster id $(<"$CLUSTER_ID_FILE"))"
    local -a extra=()
    read -ra extra <<<"$KAFKA_FORMAT_ARGS"
    out="$("${JAVA_CMD[@]}" kafka.tools.StorageTool format \
            -t "$(<"$CLUSTER_ID_FILE")" -c "$CONFIG_FILE" --ignore-formatted "${extra[@]}" 2>&1)" \
        || die 1 "formatting $DATA_DIR failed (StorageTool format):"$'\n'"$out"
}

start_broker() {
    # Only look at lines written after this point: the lifecycle log is appended
    # to across restarts and would otherwise still say "started" from last time.
    LOG_OFFSET=0
    if [[ -f "$LIFECYCLE_FILE" ]]; then LOG_OFFSET="$(wc -c <"$LIFECYCLE_FILE")"; fi
    : >"$OUT_FILE"
    # nohup + </dev/null: survive the calling shell. 9>&-: do not hand the lock
    # fd to the long-lived broker, or the lock would be held until it exits.
    nohup "${JAVA_CMD[@]}" kafka.Kafka "$CONFIG_FILE" \
        >>"$OUT_FILE" 2>&1 </dev/null 9>&- &
    echo $! >"$PID_FILE"
}

# True once the lifecycle log (since LOG_OFFSET) has the ready line.
log_says_started() {
    [[ -f "$LIFECYCLE_FILE" ]] || return 1
    tail -c "+$(( LOG_OFFSET + 1 ))" "$LIFECYCLE_FILE" | grep -F "$READY_LOG_LINE" >/dev/null
}

wait_until_ready() {  # wait_until_ready PID START_MS
    local pid="$1" start_ms="$2" deadline=$(( SECONDS + READY_TIMEOUT_S ))
    while (( SECONDS < deadline )); do
        if ! kill -0 "$pid" 2>/dev/null; then
            rm -f "$PID_FILE"
            print_log_tail
            die 1 "Kafka exited during startup (see the log above)"
        fi
        if log_says_started && port_open "$KAFKA_PORT"; then
            local ms=$(( $(date +%s%3N) - start_ms ))
            printf 'Kafka %s ready on 127.0.0.1:%s (pid %s) in %d.%01d s\n' \
                "$KAFKA_VERSION" "$KAFKA_PORT" "$pid" $(( ms / 1000 )) $(( ms % 1000 / 100 ))
            return 0
        fi
        sleep 0.5
    done
    print_log_tail
    # A broker that is not up after 90 s is broken; do not leave it behind.
    echo "kafka.sh: not ready after ${READY_TIMEOUT_S} s; stopping it" >&2
    stop_pid "$pid"
    rm -f "$PID_FILE"
    exit 1
}

cmd_up() {
    cmd_fetch
    resolve_state_dir --create
    take_lock "$KAFKA_STATE_DIR/.lock"

    local pid
    if pid="$(broker_pid)"; then
        if port_open "$KAFKA_PORT"; then
            echo "Kafka already running on 127.0.0.1:$KAFKA_PORT (pid $pid)"
            return 0
        fi
        # Alive but not answering yet: probably still starting. Wait for it
        # rather than starting a second broker on the same data dir.
        echo "Kafka process $pid is alive but not answering yet; waiting..."
        LOG_OFFSET=0
        wait_until_ready "$pid" "$(date +%s%3N)"
        return 0
    fi
    remove_stale_pid_file

    # Fail clearly rather than with a bind error buried in the log.
    local p
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        if port_open "$p"; then
            die 1 "port 127.0.0.1:$p is already in use by another process" \
                "(set KAFKA_PORT / KAFKA_CONTROLLER_PORT to run another instance)"
        fi
    done

    mkdir -p "$DATA_DIR" "$LOG_DIR"
    kafka_java_cmd
    render_config
    format_storage
    echo "Starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (state: $KAFKA_STATE_DIR)"
    local start_ms
    start_ms="$(date +%s%3N)"
    start_broker
    wait_until_ready "$(<"$PID_FILE")" "$start_ms"
}

# --- down / status / reset / logs ----------------------------------------------

stop_pid() {  # SIGTERM lets Kafka shut down cleanly; SIGKILL if it hangs.
    local pid="$1" deadline=$(( SECONDS + STOP_TIMEOUT_S ))
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null; do
        if (( SECONDS >= deadline )); then
            echo "Kafka (pid $pid) still running after ${STOP_TIMEOUT_S} s; sending SIGKILL" >&2
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.5
    done
}

cmd_down() {
    resolve_state_dir
    # Wait for a concurrent `up` of this instance to finish before stopping it.
    if [[ -d "$KAFKA_STATE_DIR" ]]; then take_lock "$KAFKA_STATE_DIR/.lock"; fi
    local pid
    if ! pid="$(broker_pid)"; then
        remove_stale_pid_file
        echo "Kafka not running (state: $KAFKA_STATE_DIR)"
        return 0
    fi
    echo "Stopping Kafka (pid $pid)..."
    stop_pid "$pid"
    rm -f "$PID_FILE"
    echo "Kafka stopped"
}

cmd_status() {
    resolve_state_dir
    local pid
    if pid="$(broker_pid)"; then
        if port_open "$KAFKA_PORT"; then
            echo "Kafka running on 127.0.0.1:$KAFKA_PORT (pid $pid, state: $KAFKA_STATE_DIR)"
            return 0
        fi
        echo "Kafka process $pid is alive but 127.0.0.1:$KAFKA_PORT does not answer (starting or unhealthy)"
        return 1
    fi
    echo "Kafka not running (state: $KAFKA_STATE_DIR)"
    return 1
}

cmd_reset() {
    cmd_down
    # Delete only what this script creates: KAFKA_STATE_DIR comes from the
    # environment, and `rm -rf` of a mistyped value must not wipe anything else.
    rm -rf "$DATA_DIR" "$LOG_DIR" "$CLUSTER_ID_FILE" "$CONFIG_FILE" "$PID_FILE" \
           "$KAFKA_STATE_DIR/.lock"
    release_lock
    rmdir "$KAFKA_STATE_DIR" 2>/dev/null || true
    echo "Kafka data deleted ($KAFKA_STATE_DIR); jar cache kept ($KAFKA_LIBS_DIR)"
}

cmd_logs() {
    resolve_state_dir
    [[ -f "$LOG_FILE" ]] || die 1 "no log yet at $LOG_FILE"
    if (( $# == 0 )); then set -- -n 50 -F; fi
    exec tail "$@" "$LOG_FILE"
}

main() {
    local cmd="${1:-}"
    if (( $# )); then shift; fi
    case "$cmd" in
        fetch)  cmd_fetch ;;
        up)     cmd_up ;;
        down)   cmd_down ;;
        status) cmd_status ;;
        reset)  cmd_reset ;;
        logs)   cmd_logs "$@" ;;
        -h|--help|help) usage ;;
        *)      usage >&2; exit 64 ;;
    esac
}

main "$@"
