"""The operators' side: the /ops/ dashboard, alerts, /metrics."""

from exora import env

# Figures are computed once per this many seconds and shared by every viewer and scrape.
EXORA_DASHBOARD_REFRESH_SECONDS = env.get_int("EXORA_DASHBOARD_REFRESH_SECONDS", 5, minimum=1)
# The wait a queued job should not exceed; capacity advice and latency targets use it.
EXORA_TARGET_WAIT_SECONDS = env.get_int("EXORA_TARGET_WAIT_SECONDS", 30, minimum=1)
EXORA_WORKER_HEARTBEAT_SECONDS = env.get_float("EXORA_WORKER_HEARTBEAT_SECONDS", 5.0)
# A worker silent this long is stale, then dead; a dead one is forgotten after an hour.
EXORA_WORKER_STALE_SECONDS = env.get_int("EXORA_WORKER_STALE_SECONDS", 15, minimum=1)
EXORA_WORKER_DEAD_SECONDS = env.get_int("EXORA_WORKER_DEAD_SECONDS", 60, minimum=1)
# 0: the container's cgroup limit, else the machine's memory.
EXORA_WORKER_MEMORY_LIMIT_MB = env.get_int("EXORA_WORKER_MEMORY_LIMIT_MB", 0, minimum=0)
EXORA_ALERT_INTERVAL_SECONDS = env.get_float("EXORA_ALERT_INTERVAL_SECONDS", 15.0)
EXORA_ALERT_EMAILS = env.get_list("EXORA_ALERT_EMAILS", [])  # empty: no alert e-mail
EXORA_ALERT_WEBHOOK_URL = env.get_str("EXORA_ALERT_WEBHOOK_URL", "")  # empty: no webhook
# Lets a scraper without a staff session read /metrics (Authorization: Bearer <token>).
EXORA_METRICS_TOKEN = env.get_str("EXORA_METRICS_TOKEN", "")
