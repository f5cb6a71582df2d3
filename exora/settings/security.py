"""Security: how large a request may be, sign-in and its lockouts, tokens, HTTPS, the content
security policy, the record of reads, retention and deletion. (Issue 14; README "Security".)"""

from exora import env

# Every request body but an upload's (EXORA_MAX_UPLOAD_MB) is refused past this (exora.bodylimit).
EXORA_MAX_REQUEST_KB = env.get_int("EXORA_MAX_REQUEST_KB", 1024, minimum=16)

# Finished documents older than this many days are deleted with their files (0: kept for ever).
EXORA_RETENTION_DAYS = env.get_int("EXORA_RETENTION_DAYS", 0, minimum=0)
# Files no row owns are deleted once they are this old (a row may be about to name a newer one).
EXORA_ORPHAN_GRACE_HOURS = env.get_int("EXORA_ORPHAN_GRACE_HOURS", 24, minimum=1)
# Records of who read which document are kept this many days (six years: HIPAA's span).
EXORA_ACCESS_LOG_DAYS = env.get_int("EXORA_ACCESS_LOG_DAYS", 2190, minimum=1)
