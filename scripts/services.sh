#!/usr/bin/env bash
# Make sure the services Exora talks to answer; start local ones where they do not.
# Usage: scripts/services.sh redis        Redis at REDIS_URL, persistent, data under the data dir
#        scripts/services.sh postgres     PostgreSQL on 127.0.0.1:5432 for the test suite
#        scripts/services.sh s3           an S3 server (SeaweedFS) at EXORA_S3_ENDPOINT_URL, for the
#                                         tests and for trying EXORA_STORAGE=s3 on one machine
#        scripts/services.sh rabbitmq     RabbitMQ on 127.0.0.1:5672 with its management API (15672),
#                                         for EXORA_BROKER=rabbitmq on one machine and the tests
#        scripts/services.sh pgbouncer    PgBouncer in transaction mode on 127.0.0.1:EXORA_PGBOUNCER_PORT
#                                         (6432) in front of the PostgreSQL on 127.0.0.1:5432
set -euo pipefail
cd "$(dirname "$0")/.."
data_dir="${EXORA_DATA_DIR:-$PWD/data}"

redis_up() { .venv/bin/python - "${REDIS_URL:-redis://127.0.0.1:6379/0}" <<'PY'
import sys, redis
try:
    redis.Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping()
except Exception:
    sys.exit(1)
PY
}

case "${1:-}" in
  redis)
    if redis_up; then exit 0; fi
    port=$(.venv/bin/python -c "import os,urllib.parse as u;print(u.urlparse(os.environ.get('REDIS_URL','redis://127.0.0.1:6379/0')).port or 6379)")
    mkdir -p "$data_dir/redis"
    echo "Starting redis-server on port $port (append-only file in $data_dir/redis)"
    redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --dir "$data_dir/redis" \
      --appendonly yes --save 60 1000 --logfile "$data_dir/redis/redis.log"
    for _ in $(seq 50); do redis_up && exit 0; sleep 0.1; done
    echo "redis-server did not answer on port $port" >&2; exit 1 ;;
  postgres)
    if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then exit 0; fi
    version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)
    [ -n "$version" ] || { echo "PostgreSQL is not installed; run scripts/setup.sh test" >&2; exit 1; }
    hba="/etc/postgresql/$version/main/pg_hba.conf"
    # The test suite connects as postgres over TCP without a password, like CI's server.
    grep -q "exora-test" "$hba" || sed -i "1i host all postgres 127.0.0.1/32 trust # exora-test" "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 0.2; done
    echo "PostgreSQL did not answer on 127.0.0.1:5432" >&2; exit 1 ;;
  s3)
    endpoint="${EXORA_S3_ENDPOINT_URL:-http://127.0.0.1:8333}"
    s3_up() { curl -s -o /dev/null --max-time 1 "$endpoint/"; }
    if s3_up; then exit 0; fi
    port=$(.venv/bin/python -c "import urllib.parse as u,sys;print(u.urlparse(sys.argv[1]).port or 80)" "$endpoint")
    dir="$data_dir/seaweedfs"
    mkdir -p "$dir/data"
    # One identity, with the keys the clients are given (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).
    cat > "$dir/s3.json" <<JSON
{"identities": [{"name": "exora", "actions": ["Admin", "Read", "Write", "List", "Tagging"],
  "credentials": [{"accessKey": "${AWS_ACCESS_KEY_ID:-exora}", "secretKey": "${AWS_SECRET_ACCESS_KEY:-exora-secret-key}"}]}]}
JSON
    echo "Starting SeaweedFS's S3 server on port $port (data in $dir)"
    nohup .venv/bin/weed server -dir="$dir/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
      -master.port=19333 -volume.port=18080 -filer.port=18888 \
      -master.volumeSizeLimitMB=64 -volume.max=1000 \
      -s3 -s3.port="$port" -s3.config="$dir/s3.json" > "$dir/weed.log" 2>&1 &
    for _ in $(seq 100); do s3_up && exit 0; sleep 0.2; done
    echo "SeaweedFS did not answer at $endpoint (log: $dir/weed.log)" >&2; exit 1 ;;
  rabbitmq)
    port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
    if ! port_open 5672; then
      command -v rabbitmq-server >/dev/null || { echo "RabbitMQ is not installed; run scripts/setup.sh test" >&2; exit 1; }
      echo "Starting rabbitmq-server"
      rabbitmq-server -detached
      for _ in $(seq 150); do port_open 5672 && break; sleep 0.2; done
      port_open 5672 || { echo "RabbitMQ did not answer on 127.0.0.1:5672" >&2; exit 1; }
    fi
    # The queue figures come from the management API.
    if ! port_open 15672; then
      echo "Enabling RabbitMQ's management plugin"
      rabbitmq-plugins enable rabbitmq_management >/dev/null
      for _ in $(seq 150); do port_open 15672 && exit 0; sleep 0.2; done
      echo "RabbitMQ's management API did not answer on 127.0.0.1:15672" >&2; exit 1
    fi ;;
  pgbouncer)
    port="${EXORA_PGBOUNCER_PORT:-6432}"
    if pg_isready -q -h 127.0.0.1 -p "$port" 2>/dev/null; then exit 0; fi
    command -v pgbouncer >/dev/null || { echo "PgBouncer is not installed; run scripts/setup.sh test" >&2; exit 1; }
    # PgBouncer will not run as root: as root, it runs as postgres, which must read its files.
    user=$(id -un); [ "$(id -u)" -eq 0 ] && user=postgres
    dir="${TMPDIR:-/tmp}/exora-pgbouncer-$port"
    mkdir -p "$dir"
    echo '"postgres" ""' > "$dir/users.txt"
    # Any database name goes to the same server, so each test database is reachable. Trust is
    # for this local test set-up only: a deployment's PgBouncer authenticates its clients.
    cat > "$dir/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=5432
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/users.txt
admin_users = postgres
pool_mode = transaction
max_client_conn = 2000
default_pool_size = 20
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
    chown -R "$user" "$dir"
    echo "Starting PgBouncer on port $port (transaction pooling; files in $dir)"
    if [ "$(id -u)" -eq 0 ]; then pgbouncer -d -u "$user" "$dir/pgbouncer.ini"; else pgbouncer -d "$dir/pgbouncer.ini"; fi
    for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p "$port" && exit 0; sleep 0.2; done
    echo "PgBouncer did not answer on 127.0.0.1:$port (log: $dir/pgbouncer.log)" >&2; exit 1 ;;
  *) echo "usage: $0 redis|postgres|s3|rabbitmq|pgbouncer" >&2; exit 2 ;;
esac
