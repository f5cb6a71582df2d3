#!/usr/bin/env bash
# Install what Exora needs on a Debian/Ubuntu machine, skipping what is already there:
# system packages through apt-get, then a virtualenv in .venv with requirements.txt.
# Usage: scripts/setup.sh [run|test]   (test adds the browser, PostgreSQL and requirements-dev.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
purpose="${1:-run}"

need=()
command -v tesseract >/dev/null || need+=(tesseract-ocr)
[ -e /usr/share/tesseract-ocr/5/tessdata/eng.traineddata ] || ls /usr/share/tesseract-ocr/*/tessdata/eng.traineddata >/dev/null 2>&1 || need+=(tesseract-ocr-eng)
command -v pdftoppm >/dev/null || need+=(poppler-utils)
command -v qpdf >/dev/null || need+=(qpdf)
command -v redis-server >/dev/null || need+=(redis-server)
ldconfig -p 2>/dev/null | grep -q libmagic.so.1 || need+=(libmagic1)
command -v python3 >/dev/null || need+=(python3)
python3 -c "import venv, ensurepip" 2>/dev/null || need+=(python3-venv)
command -v make >/dev/null || need+=(make)
command -v curl >/dev/null || need+=(curl)
if [ "$purpose" = "test" ]; then
  command -v chromium >/dev/null || need+=(chromium)
  command -v psql >/dev/null || need+=(postgresql)
  # The fleet's engines, which the tests run Exora against: PgBouncer, and RabbitMQ unless one
  # answers already.
  command -v pgbouncer >/dev/null || need+=(pgbouncer)
  command -v rabbitmq-server >/dev/null || (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null || need+=(rabbitmq-server)
fi

if [ ${#need[@]} -gt 0 ]; then
  echo "Installing system packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
requirements=requirements.txt
[ "$purpose" = "test" ] && requirements=requirements-dev.txt
stamp=.venv/.$requirements.sha256
want=$(cat requirements.txt "$requirements" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -r "$requirements"
  echo "$want" > "$stamp"
fi
