"""Security: how large a request may be, sign-in and its lockouts, tokens, HTTPS, the content
security policy, the record of reads, retention and deletion. (Issue 14; README "Security".)"""

from exora import env

# Every request body but an upload's (EXORA_MAX_UPLOAD_MB) is refused past this (exora.bodylimit).
EXORA_MAX_REQUEST_KB = env.get_int("EXORA_MAX_REQUEST_KB", 1024, minimum=16)
