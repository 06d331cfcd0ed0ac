# Copy to instance/config.py. Every setting can also come from an IDAAS_<NAME> environment
# variable, which wins over this file. Values shown are examples, not defaults.

# ENV = "production"                      # development | production | testing
# ISSUER = "https://sso.example.com"      # public base URL; https required in production
# SECRET_KEY = "at least 32 random characters"
# ENCRYPTION_KEYS = ["<Fernet key>"]      # newest first; older ones still decrypt (rotation)
# DATABASE_URL = "postgresql+psycopg://idaas@db.example.com/idaas"
# REDIS_URL = "redis://127.0.0.1:6379/0"  # shared rate limits and caches across processes

# Password policy
# PASSWORD_MIN_LENGTH = 10
# PASSWORD_REQUIRED_CLASSES = 3
# PASSWORD_HISTORY = 5
# PASSWORD_MAX_AGE_DAYS = 90
# PASSWORD_CHANGE_ON_FIRST_LOGIN = True

# AUDIT_RETENTION_DAYS = 180
# DEFAULT_PHONE_REGION = "CN"

# DingTalk endpoints (tests and `idaas demo` point these at the sandbox)
# DINGTALK_OAPI_BASE = "https://oapi.dingtalk.com"
# DINGTALK_API_BASE = "https://api.dingtalk.com"
# DINGTALK_LOGIN_BASE = "https://login.dingtalk.com"
