# Sourced by scripts/test.sh (and usable by hand: `source scripts/services.sh; start_services`).
# Starts a throwaway PostgreSQL cluster and Redis server on loopback ports and exports
# COUNTYWATCH_TEST_POSTGRES_URL and COUNTYWATCH_TEST_REDIS_URL for the tests.
# Nothing is started when those variables are already set (an existing server is used).

_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

_as_pg_user() {
    # initdb and postgres refuse to run as root.
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_services() {
    _cw_services_dir="$(mktemp -d /tmp/countywatch-services.XXXXXX)"
    chmod 755 "$_cw_services_dir"
    if [ -z "${COUNTYWATCH_TEST_POSTGRES_URL:-}" ]; then
        local pgbin port
        pgbin="$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")"
        port="$(_free_port)"
        mkdir -p "$_cw_services_dir/pg"
        [ "$(id -u)" = 0 ] && chown postgres "$_cw_services_dir/pg"
        _as_pg_user "$pgbin/initdb" -D "$_cw_services_dir/pg" -U countywatch --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
        _as_pg_user "$pgbin/pg_ctl" -D "$_cw_services_dir/pg" -l "$_cw_services_dir/pg/server.log" -w \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $_cw_services_dir/pg -c fsync=off -c max_connections=200" start >/dev/null
        _cw_pg_started="$pgbin"
        export COUNTYWATCH_TEST_POSTGRES_URL="postgresql+psycopg://countywatch@127.0.0.1:$port/postgres"
    fi
    if [ -z "${COUNTYWATCH_TEST_REDIS_URL:-}" ]; then
        local rport
        rport="$(_free_port)"
        redis-server --bind 127.0.0.1 --port "$rport" --save '' --appendonly no --daemonize yes \
            --pidfile "$_cw_services_dir/redis.pid" --logfile "$_cw_services_dir/redis.log" >/dev/null
        _cw_redis_started=1
        export COUNTYWATCH_TEST_REDIS_URL="redis://127.0.0.1:$rport/0"
        for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
    fi
    echo "test services: postgres=${COUNTYWATCH_TEST_POSTGRES_URL} redis=${COUNTYWATCH_TEST_REDIS_URL}" >&2
}

stop_services() {
    if [ -n "${_cw_pg_started:-}" ]; then
        _as_pg_user "$_cw_pg_started/pg_ctl" -D "$_cw_services_dir/pg" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [ -n "${_cw_redis_started:-}" ] && [ -f "$_cw_services_dir/redis.pid" ]; then
        kill "$(cat "$_cw_services_dir/redis.pid")" 2>/dev/null || true
    fi
    rm -rf "$_cw_services_dir"
}
