# The two commands a newcomer needs: `make run` and `make test`. Both install what is missing.
PY := .venv/bin/python
export DJANGO_SETTINGS_MODULE := exora.settings
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/exora

.PHONY: run test setup lint bench

run:
	scripts/setup.sh run
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) manage.py ensure_operator --url http://127.0.0.1:$${EXORA_PORT:-8000}/
	scripts/services.sh redis
	# One machine, one person trying it: e-mails are printed, never sent (set EXORA_EMAIL_URL to send).
	EXORA_EMAIL_URL=$${EXORA_EMAIL_URL:-console:} .venv/bin/honcho start -f Procfile

test:
	scripts/setup.sh test
	scripts/services.sh postgres
	scripts/services.sh redis
	scripts/services.sh s3
	scripts/services.sh rabbitmq
	scripts/services.sh pgbouncer
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	.venv/bin/mypy
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) -m pytest $(PYTEST_ARGS)

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/lint-imports && .venv/bin/mypy

bench:
	scripts/setup.sh test
	DATABASE_URL=$(TEST_DATABASE_URL) $(PY) benchmarks/pipeline_throughput.py
