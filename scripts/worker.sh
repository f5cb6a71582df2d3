#!/usr/bin/env bash
# Run the Dramatiq workers and start them again if they die: rundramatiq exits as a whole when
# one of its processes is killed (out of memory, a crash), and under honcho that would stop
# the whole service. Work a dead worker held is recovered from the database.
set -u
cd "$(dirname "$0")/.."
child=0
stop() { [ "$child" -ne 0 ] && kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0; }
trap stop TERM INT
while true; do
  .venv/bin/python manage.py runworkers &
  child=$!
  wait "$child"
  code=$?
  echo "workers exited with code $code; starting them again in 2 s" >&2
  sleep 2
done
