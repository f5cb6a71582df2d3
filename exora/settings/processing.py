"""Reading pages: the limits a file must keep to, OCR, the workers and their sizes, lanes and
leases."""

import os

from exora import env, hosts

EXORA_MAX_UPLOAD_MB = env.get_int("EXORA_MAX_UPLOAD_MB", 200, minimum=1)
EXORA_MAX_UPLOAD_BYTES = EXORA_MAX_UPLOAD_MB * 1024 * 1024
EXORA_MAX_PAGES = env.get_int("EXORA_MAX_PAGES", 1000, minimum=1)
# Documents one person may have waiting at once (more: 429), and the expected wait past which
# an upload's answer says the service is busy.
EXORA_USER_MAX_WAITING = env.get_int("EXORA_USER_MAX_WAITING", 200, minimum=1)
EXORA_BUSY_WAIT_SECONDS = env.get_int("EXORA_BUSY_WAIT_SECONDS", 300, minimum=0)
# Pages beyond these are refused: a small file can describe a page that would take
# gigabytes to render (a decompression bomb).
EXORA_MAX_PAGE_INCHES = env.get_int("EXORA_MAX_PAGE_INCHES", 50, minimum=1)
EXORA_MAX_IMAGE_PIXELS = env.get_int("EXORA_MAX_IMAGE_PIXELS", 100_000_000, minimum=1_000_000)
# A page is rendered at EXORA_OCR_DPI unless that would exceed this many pixels.
EXORA_MAX_RENDER_PIXELS = env.get_int("EXORA_MAX_RENDER_PIXELS", 40_000_000, minimum=1_000_000)
EXORA_OCR_MODE = env.get_choice("EXORA_OCR_MODE", "auto", ("auto", "force", "off"))
EXORA_OCR_DPI = env.get_int("EXORA_OCR_DPI", 300, minimum=50)
EXORA_DISPLAY_DPI = env.get_int("EXORA_DISPLAY_DPI", 100, minimum=36)
EXORA_OCR_LANGUAGES = "+".join(env.get_list("EXORA_OCR_LANGUAGES", ["eng"]))
EXORA_PAGE_TIMEOUT = env.get_int("EXORA_PAGE_TIMEOUT_SECONDS", 180, minimum=5)
# The box every tool reading a user's file runs in (processing/engine/sandbox.py): its memory
# (address space), the largest file it may write, and the text it may print per page.
EXORA_TOOL_MEMORY_MB = env.get_int("EXORA_TOOL_MEMORY_MB", 2048, minimum=256)
EXORA_TOOL_OUTPUT_MB = env.get_int("EXORA_TOOL_OUTPUT_MB", 256, minimum=1)
EXORA_PAGE_TEXT_MB = env.get_int("EXORA_PAGE_TEXT_MB", 8, minimum=1)
# How the extraction passes read an all-numeric date that reads both ways (03/04/2015):
# month first (US records) or day first. Such dates are marked ambiguous either way.
EXORA_DATE_ORDER = env.get_choice("EXORA_DATE_ORDER", "mdy", ("mdy", "dmy")).upper()  # get_choice lowercases
# One OCR page per core is the throughput limit; more threads only fight over the cores. The
# cores are those this process may use (its CPU affinity and its container's quota).
EXORA_WORKERS = env.get_int("EXORA_WORKERS", hosts.usable_cpus(), minimum=1)
EXORA_WORKER_THREADS = env.get_int("EXORA_WORKER_THREADS", 1, minimum=1)
# Lanes: members of this group skip the queue; a document over EXORA_BULK_PAGES pages, or
# one of EXORA_BULK_DOCUMENTS or more waiting from the same person, goes after the others.
EXORA_PRIORITY_GROUP = env.get_str("EXORA_PRIORITY_GROUP", "priority")
EXORA_BULK_PAGES = env.get_int("EXORA_BULK_PAGES", 100, minimum=1)
EXORA_BULK_DOCUMENTS = env.get_int("EXORA_BULK_DOCUMENTS", 10, minimum=1)
# Page messages of one document in the queue at once: each stored page sends the next, so a
# small document uploaded after a large one waits for a few pages, not for the whole document.
# One value for the whole fleet (not derived from one host's workers): about the worker slots
# one large document may keep busy.
EXORA_DOCUMENT_WINDOW = env.get_int("EXORA_DOCUMENT_WINDOW", 8, minimum=1)
# Text-layer pages take milliseconds each, less than a message costs: up to this many
# neighbours go in one message (one poppler run for all), still far shorter than one OCR page.
EXORA_TEXT_BATCH_PAGES = env.get_int("EXORA_TEXT_BATCH_PAGES", 16, minimum=1)
# A worker renews the lease on the page it reads; a lease that runs out means it died.
EXORA_LEASE_SECONDS = env.get_int("EXORA_LEASE_SECONDS", 30, minimum=3)
# How often the leader worker looks for lost work (0 turns recovery off).
EXORA_RECOVERY_INTERVAL_SECONDS = env.get_float("EXORA_RECOVERY_INTERVAL_SECONDS", 5.0)

# Who this worker is: the node's name (a host, or a pod) and a boot id drawn at process start,
# so a restarted container is a new worker and never takes over its predecessor's leases.
EXORA_NODE_NAME = env.get_str("EXORA_NODE_NAME", "") or hosts.node_name()

# Tesseract's OpenMP threads collapse throughput when several pages run at once (12 s per
# page instead of 2 s here); parallelism comes from running pages side by side instead.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")
