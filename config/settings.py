"""Settings, all read from the environment (see README, "配置").
Design notes: docs/architecture/governance.md."""

import os
import secrets
import sys
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
TESTING = env.bool("TESTING", default="pytest" in sys.modules)

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
SECRET_KEY_FROM_ENVIRONMENT = bool(env.str("SECRET_KEY", default=""))
# Unset in production: a throwaway key for commands that sign nothing; governance.checks stops the
# server and the worker before anything is signed with it.
SECRET_KEY = env.str("SECRET_KEY", default="") or (_DEV_SECRET_KEY if DEBUG or TESTING else secrets.token_urlsafe(50))
SECRET_KEY_REQUIRED = not (DEBUG or TESTING)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "guardian",
    "treebeard",
    "django_filters",
    "viewflow",
    "viewflow.workflow",
    "governance",
    "grid",
    "inspection",
    "rectification",
    "workflows",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "governance.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'governance.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a writer instead of failing at once when two requests write together.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "grid.access.RegionPermissionBackend",
    "grid.access.ObjectGrantBackend",  # django-guardian, tolerant of cross-app questions
]
GUARDIAN_RAISE_403 = False
# guardian looks for its own backend by name; ours is a subclass of it (grid.access.ObjectGrantBackend).
SILENCED_SYSTEM_CHECKS = ["guardian.W001"]
ANONYMOUS_USER_NAME = None

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

if TESTING:
    # Hashing with the production hasher costs ~0.3 s a password; tests create hundreds.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["governance.formats"]  # ISO first among the date input formats
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
FILTERS_EMPTY_CHOICE_LABEL = "请选择"  # django-filter forms start their drop-downs like every other form

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", default=str(VAR_DIR / "media")))

# Evidence uploads (governance/evidence.py): limits per kind, checked by content.
EVIDENCE_MAX_IMAGE_BYTES = env.int("EVIDENCE_MAX_IMAGE_BYTES", default=15 * 1024 * 1024)
EVIDENCE_MAX_VIDEO_BYTES = env.int("EVIDENCE_MAX_VIDEO_BYTES", default=100 * 1024 * 1024)
EVIDENCE_MAX_DOCUMENT_BYTES = env.int("EVIDENCE_MAX_DOCUMENT_BYTES", default=20 * 1024 * 1024)
EVIDENCE_MAX_FILES = env.int("EVIDENCE_MAX_FILES", default=9)
EVIDENCE_MAX_IMAGE_PIXELS = env.int("EVIDENCE_MAX_IMAGE_PIXELS", default=40_000_000)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="governance@localhost")
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000" if DEBUG else "")

# 待办 and 督办 by 企业微信/政务微信 group robot (addresses set per township or department in the admin)
# and by SMS (governance/channels.py). Both optional; without SMS_GATEWAY_URL no SMS is sent.
SMS_GATEWAY_URL = env.str("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env.str("SMS_GATEWAY_TOKEN", default="")  # sent as "Authorization: Bearer …"
SMS_SIGNATURE = env.str("SMS_SIGNATURE", default="")  # the registered signature, e.g. 某某县社会治理
SMS_TEMPLATE_ID = env.str("SMS_TEMPLATE_ID", default="")
SMS_TEMPLATE = env.str("SMS_TEMPLATE", default="【{signature}】{title}。请登录系统办理。")
SMS_PER_MINUTE = env.int("SMS_PER_MINUTE", default=60)  # for the whole gateway account
ROBOT_PER_MINUTE = env.int("ROBOT_PER_MINUTE", default=20)  # per group robot (企业微信's own limit)
CHANNEL_TIMEOUT_SECONDS = env.float("CHANNEL_TIMEOUT_SECONDS", default=5.0)
CHANNEL_RETRY_SECONDS = env.int("CHANNEL_RETRY_SECONDS", default=30)  # doubled after each failure, ≤ 1 hour
CHANNEL_MAX_ATTEMPTS = env.int("CHANNEL_MAX_ATTEMPTS", default=8)
if SMS_GATEWAY_URL and not SMS_SIGNATURE:
    raise ImproperlyConfigured("SMS_GATEWAY_URL 已设置但缺少 SMS_SIGNATURE（短信签名）。")
try:
    SMS_TEMPLATE.format(signature="", title="")
except (KeyError, IndexError, ValueError) as exc:
    raise ImproperlyConfigured(f"SMS_TEMPLATE 只能使用 {{signature}} 与 {{title}}：{exc}") from None
for _name in ("SMS_PER_MINUTE", "ROBOT_PER_MINUTE", "CHANNEL_MAX_ATTEMPTS", "CHANNEL_RETRY_SECONDS"):
    if vars()[_name] < 1:
        raise ImproperlyConfigured(f"{_name} 须为正整数。")

# Redis: Celery broker and results, and the cache. Without it, tasks run eagerly in-process.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
# The embedded run (make run): tasks marked `runs_in_background` (long jobs, notices to the next step's
# holders) run in one worker thread of the server instead of inside the request (governance/embedded_worker.py).
# Only without Redis; the tests leave it off and run every task inline.
EMBEDDED_WORKER = CELERY_TASK_ALWAYS_EAGER and env.bool("EMBEDDED_WORKER", default=False)
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

VIEWFLOW = {"site_title": "基层治理工作平台"}

if not DEBUG:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # One line per task run is noise when tasks run eagerly inside commands and requests.
    # (kombu also warns once that the eager run has no broker host: that is intended.)
    "loggers": {
        "celery.app.trace": {"level": "WARNING" if not REDIS_URL else "INFO"},
        "kombu.connection": {"level": "ERROR" if not REDIS_URL else "WARNING"},
    },
}

# ------------------------------------------------------------------ open API (api/)
# (owned by the API work: REST_FRAMEWORK, SPECTACULAR_SETTINGS, throttling, Open311)
INSTALLED_APPS += ["rest_framework", "rest_framework.authtoken", "drf_spectacular", "api"]
REST_FRAMEWORK = {
    # Devices send "Authorization: Token <key>" (api.authentication: hashed, per-device, revocable);
    # the browser uses its session (with CSRF on writes).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.authentication.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttling.WriteUserThrottle", "api.throttling.WriteIPThrottle"],
    # Writes only (reads are not throttled); the cache is Django's default cache (Redis in production).
    # Under pytest the defaults are lifted (as axes is off): every test client shares 127.0.0.1, so suites
    # that walk every URL would meet 429s; tests/api/ sets low rates itself to test the limits.
    "DEFAULT_THROTTLE_RATES": {
        "write_user": env.str("API_WRITE_RATE_USER", default="100000/min" if TESTING else "60/min"),
        "write_ip": env.str("API_WRITE_RATE_IP", default="100000/min" if TESTING else "120/min"),
        "open311_post": env.str("OPEN311_POST_RATE", default="100000/min" if TESTING else "20/min"),
    },
    "DEFAULT_PAGINATION_CLASS": "api.pagination.UncountedPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "基层治理工作平台 API",
    "DESCRIPTION": "网格事件、我的待办、区域、大巡查上报与得分、整改方案与事项、公开通报。"
                   "设备用令牌（Authorization: Token <令牌>），浏览器用登录会话。",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    "PATH_CONVERTER_OVERRIDES": {"api_id": {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999}},
    "ENUM_NAME_OVERRIDES": {
        "EventStatusEnum": "grid.models.Event.Status",
        "RectificationItemStatusEnum": "rectification.models.RectificationItem.Status",
    },
}

# ------------------------------------------------------------------ security (access)
# (owned by the security work: axes, CSP, two-factor, session and password hardening)
import datetime as _dt  # noqa: E402

from csp.constants import NONE, SELF  # noqa: E402

INSTALLED_APPS += ["axes", "django_otp", "django_otp.plugins.otp_totp", "csp"]

# Login throttling (django-axes): the standalone backend only refuses locked-out logins; the others
# still authenticate. Five wrong passwords for one account from one address lock that pair for
# AXES_COOLOFF_MINUTES; a correct password resets the count. Reset by hand: `manage.py axes_reset_username NAME`.
AUTHENTICATION_BACKENDS.insert(0, "axes.backends.AxesStandaloneBackend")
# Django's test Client.login() authenticates without a request, which axes refuses; the tests of
# tests/security/ switch axes on again with override_settings.
AXES_ENABLED = env.bool("AXES_ENABLED", default=not TESTING)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = _dt.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/lockout.html"
AXES_COOLOFF_MESSAGE = "登录失败次数过多，账号已暂时锁定，请稍后再试。"
AXES_PERMALOCK_MESSAGE = "登录失败次数过多，账号已锁定，请联系系统管理员解锁。"
# The client address behind a reverse proxy: see "reverse proxy" below (TRUSTED_PROXY_COUNT).

# Optional two-factor authentication (django-otp TOTP) for county and township posts
# (config/two_factor.py): once a user has a confirmed device, every page asks for the code
# after the password until the session is verified.
OTP_TOTP_ISSUER = "基层治理工作平台"
_auth_index = MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware")
MIDDLEWARE.insert(_auth_index + 1, "django_otp.middleware.OTPMiddleware")
MIDDLEWARE.insert(_auth_index + 2, "config.two_factor.TwoFactorMiddleware")
MIDDLEWARE.insert(1, "csp.middleware.CSPMiddleware")
# Last: turns a lockout raised during authenticate() into the lockout page (HTTP 429).
MIDDLEWARE.append("axes.middleware.AxesMiddleware")

# Stronger passwords: at least 10 characters from at least three of upper case, lower case, digits
# and symbols (plus Django's similarity, common-password and all-digit checks above).
for _validator in AUTH_PASSWORD_VALIDATORS:
    if _validator["NAME"].endswith("MinimumLengthValidator"):
        _validator["OPTIONS"] = {"min_length": 10}
AUTH_PASSWORD_VALIDATORS.append({"NAME": "governance.security.CharacterClassesValidator", "OPTIONS": {"min_classes": 3}})
# ...and not a common password or the username dressed up with digits and symbols ("P@ssw0rd123").
AUTH_PASSWORD_VALIDATORS.append({"NAME": "governance.security.GuessablePasswordValidator"})

# Sessions end after SESSION_COOKIE_AGE (8 hours) and when the browser closes; cookies are
# HttpOnly, SameSite=Lax and, outside DEBUG, Secure (see above); HSTS outside DEBUG.
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG and not TESTING:
    # Production answers HTTPS only (behind a TLS proxy that sets X-Forwarded-Proto, see above);
    # the load balancer's health check may still use plain HTTP. SECURE_SSL_REDIRECT=0 turns it off.
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# Content-Security-Policy (django-csp 4): everything from this origin only. Scripts: static files
# only (static/governance/forms.js holds the pages' small behaviours): no inline scripts, no inline
# event handlers, no eval. (Per-request nonces do not work here: viewflow navigates with Turbo, which
# re-inserts the next page's inline scripts under the first page's policy.) Styles: 'unsafe-inline',
# because the viewflow Material frontend writes style="" attributes and a theme <style> block in every
# page, which a nonce cannot cover. Images: data: and blob: for the two-factor QR code and photo
# previews. No plugins, no framing by other sites, forms post to this site only.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "media-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# The map's optional 天地图 tile layer (grid/map_tiles.py): with a key, the map loads tiles from
# t0–t7.tianditu.gov.cn, and images may come from there. Every page's policy says so, not the map's
# alone: the menu opens pages with Turbo, which keeps the policy of the page the browser first loaded.
# Without a key, nothing leaves the site.
TIANDITU_KEY = env.str("TIANDITU_KEY", default="")
TIANDITU_HOSTS = [f"https://t{_n}.tianditu.gov.cn" for _n in range(8)]
if TIANDITU_KEY:
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"] += TIANDITU_HOSTS

# ------------------------------------------------------------------ reliability (faults)
# (owned by the reliability work: task outbox, backup/restore)
# Task outbox (governance/outbox.py): a message is kept in the database until Redis has taken it.
TASK_OUTBOX_ENABLED = env.bool("TASK_OUTBOX_ENABLED", default=True)
TASK_OUTBOX_GRACE_SECONDS = 30  # a fresh row belongs to the publish that wrote it for this long
TASK_OUTBOX_KEEP_DAYS = env.int("TASK_OUTBOX_KEEP_DAYS", default=7)  # sent rows are deleted after this
# After a successful publish, look for older unsent rows at most this often (at once after a failure here).
TASK_OUTBOX_DRAIN_CHECK_SECONDS = 10
# Who publishes a row after its commit: "thread", a background relay per process (the request does not
# wait for Redis nor for the row's second commit), or "inline", the committing thread itself.
TASK_OUTBOX_RELAY = env.str("TASK_OUTBOX_RELAY", default="thread")
# SLA rules are read once per process for this long (a rule saved here clears it at once).
SLA_RULE_CACHE_SECONDS = env.int("SLA_RULE_CACHE_SECONDS", default=60)
# Fail fast when Redis is down, so a page that queues work answers at once (the outbox keeps the work).
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "socket_connect_timeout": 2,
    "socket_timeout": 10,
    # acks_late: a message a dead worker had taken is delivered again after this many seconds.
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
}
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
CELERY_REDIS_SOCKET_TIMEOUT = 10
if REDIS_URL:
    # Redis down: a cache read is a miss and a write is skipped (governance/cache.py), quickly.
    CACHES["default"]["BACKEND"] = "governance.cache.FailSoftRedisCache"
    CACHES["default"].setdefault("OPTIONS", {}).update({"socket_connect_timeout": 2, "socket_timeout": 5})
# Uploads (governance/evidence.py): office files are zip archives; refuse decompression bombs.
EVIDENCE_MAX_UNZIPPED_BYTES = env.int("EVIDENCE_MAX_UNZIPPED_BYTES", default=200 * 1024 * 1024)
EVIDENCE_MAX_ZIP_RATIO = env.int("EVIDENCE_MAX_ZIP_RATIO", default=200)
# One request with uploads is refused (413) above this size, before it is written to temporary files.
EVIDENCE_MAX_REQUEST_BYTES = env.int("EVIDENCE_MAX_REQUEST_BYTES", default=250 * 1024 * 1024)
MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                  "governance.evidence.UploadSizeLimitMiddleware")

# ------------------------------------------------------------------ people's view
# (owned by the dashboards / long-work jobs work)
# Long work as Celery jobs (jobs/): imports, batches of documents, large exports.
INSTALLED_APPS += ["jobs"]
INSTALLED_APPS += ["config"]  # the composition: its commands (load_demo, generate_load)
# An export of more rows than this runs as a job with a progress page; smaller ones download at once.
JOBS_EXPORT_THRESHOLD = env.int("JOBS_EXPORT_THRESHOLD", default=2000)
# A running job writes its progress every this many items or this many seconds, whichever comes first.
JOBS_PROGRESS_EVERY = env.int("JOBS_PROGRESS_EVERY", default=1000)
JOBS_PROGRESS_SECONDS = env.float("JOBS_PROGRESS_SECONDS", default=0.5)
# Files of finished jobs (uploads, results) are deleted after this many days (manage.py purge_job_files).
JOBS_KEEP_DAYS = env.int("JOBS_KEEP_DAYS", default=7)

# ------------------------------------------------------------------ health probe (/healthz)
# The public answer of /healthz is only ok/degraded; staff users and a monitor sending the header
# "X-Healthz-Token: <HEALTHZ_TOKEN>" see each check. Empty: no token is accepted.
HEALTHZ_TOKEN = env.str("HEALTHZ_TOKEN", default="")
# The Celery worker ping behind /healthz is reused for this many seconds (0: ping on every probe).
HEALTHZ_WORKER_PING_SECONDS = env.int("HEALTHZ_WORKER_PING_SECONDS", default=30)

# ------------------------------------------------------------------ reverse proxy (client address)
# TRUSTED_PROXY_COUNT: how many reverse proxies of ours stand in front of the application, each of which
# appends the address it saw to X-Forwarded-For (nginx: proxy_add_x_forwarded_for). 0 (the default):
# clients connect directly, X-Forwarded-For is ignored and the client is REMOTE_ADDR. N: the client is
# the N-th address from the right of X-Forwarded-For; whatever the client wrote further left is
# ignored. The one value serves the login lockout (django-axes through django-ipware) and the API and
# Open311 rate limits (DRF), so both count the same client.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
REST_FRAMEWORK["NUM_PROXIES"] = TRUSTED_PROXY_COUNT
# ipware counts the proxies *inside* the header (the client is entry -(count + 1)); ours append the
# address they saw, so the client is entry -N: ipware's count is N - 1. Not strict: a longer header
# (the client's own entries on the left) still resolves to that entry instead of falling back to
# REMOTE_ADDR, the proxy's address shared by every client.
AXES_IPWARE_PROXY_COUNT = max(TRUSTED_PROXY_COUNT - 1, 0)
AXES_IPWARE_PROXY_ORDER = "left-most"
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if TRUSTED_PROXY_COUNT else ["REMOTE_ADDR"]
IPWARE_STRICT = False

# ------------------------------------------------------------------ embedded SQLite under concurrent writes
# Without a DATABASE_URL the application runs on one SQLite file. WAL lets readers go on while one
# writer writes; every transaction starts IMMEDIATE, i.e. takes the write lock at BEGIN and waits for it
# (up to OPTIONS["timeout"] seconds, above) instead of reading first and failing with "database is
# locked" when it later tries to write. So two people completing the same step at once run one after
# the other: the second finds the step done and gets the same message as on PostgreSQL.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"].update({
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    })

# ------------------------------------------------------------------ password reset by mail
# "Forgot password" mails a one-time link: it is offered only when mail is configured, i.e. EMAIL_URL
# is set (e.g. smtp+tls://user:password@smtp.example.gov.cn:587) with DEFAULT_FROM_EMAIL (above).
# Without EMAIL_URL the reset pages do not exist and an administrator sets a new password instead.
PASSWORD_RESET_ENABLED = bool(env.str("EMAIL_URL", default=""))
# The link in the mail works once and for this long.
PASSWORD_RESET_TIMEOUT = env.int("PASSWORD_RESET_TIMEOUT_MINUTES", default=60) * 60

# ------------------------------------------------------------------ two-factor recovery codes
# One-time recovery codes for two-factor users (django-otp's static device, config/two_factor.py).
INSTALLED_APPS += ["django_otp.plugins.otp_static"]

# ------------------------------------------------------------------ request cost (throughput)
# Persistent database connections: each gunicorn thread keeps its PostgreSQL connection for this many
# seconds instead of opening one per request (about 2–3 ms of CPU on each side), checked before reuse
# after an idle period. SQLite (embedded) opens its file per request as before.
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=300)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Prepared statements only where asked for (governance.prepared_sql): statements whose
    # plan cannot depend on their values. psycopg never prepares the others (its threshold is out of
    # reach, and Django's client-side binding cursor cannot prepare). DB_PREPARED_STATEMENTS=0: none
    # at all, e.g. behind a connection pooler in transaction mode that does not track them.
    if env.bool("DB_PREPARED_STATEMENTS", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 2**31 - 1
# Sessions: with Redis, read from the cache and written through to the database (a Redis restart signs
# nobody out); embedded, in the database as before.
if REDIS_URL:
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# What a signed-in user may do (permissions, region grants, menu facts) is cached for this many
# seconds and dropped at once when posts, roles or grants change (grid/access_cache.py); 0: off.
ACCESS_CACHE_SECONDS = env.int("ACCESS_CACHE_SECONDS", default=300)
# Parallel test workers share the Redis of a test run but each has its own database.
ACCESS_CACHE_NAMESPACE = (os.environ.get("PYTEST_XDIST_WORKER", "") + ":") if TESTING else ""
MIDDLEWARE.insert(MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
                  "grid.access_cache.AccessCacheMiddleware")
# REQUEST_COST_LOG=<file>: one line per request (view, status, CPU ms of the serving thread, wall ms,
# queries) appended to the file (governance/middleware.py, RequestCostMiddleware); read by the load test.
# Widgets (drop-downs with all their options) rendered once per process for the same plain context
# (governance/form_renderer.py).
FORM_RENDERER = "governance.form_renderer.RememberingRenderer"
REQUEST_COST_LOG = env.str("REQUEST_COST_LOG", default="")
if REQUEST_COST_LOG:
    MIDDLEWARE.insert(0, "governance.middleware.RequestCostMiddleware")
