"""Settings for energy-forecast, read from the environment (12-factor).

With no environment variables set the project runs on embedded defaults that need
no server: SQLite, kombu's filesystem broker (web and worker stay separate
processes) and a local-memory cache. Setting ``DATABASE_URL`` and ``REDIS_URL``
(optionally ``CACHE_URL`` for a separate LRU Redis) switches to PostgreSQL, a
Redis broker and django-redis, which is what CI, docker compose and production use.
"""

import os
import sys
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ENERGY_VAR_DIR", BASE_DIR / "var"))
# Folders the embedded defaults keep their files in; created at start-up
# (energy_site/apps.py), never when this module is imported.
EMBEDDED_DIRS: list[Path] = []


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", False)
# The key signs sessions, CSRF tokens and every JWT: a known key lets anyone forge a
# token for any user. Without DJANGO_SECRET_KEY only a debug process or the test suite
# (pytest sets PYTEST_VERSION) may start, on a key that says what it is; anything else
# exits here. energy_site/checks.py makes `check --deploy` fail on a weak or known key.
DEVELOPMENT_SECRET_KEY = "insecure-dev-key-set-DJANGO_SECRET_KEY-in-production-0123456789"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or "PYTEST_VERSION" in os.environ):
        sys.stderr.write(
            "energy-forecast: DJANGO_SECRET_KEY is not set and DJANGO_DEBUG is off; refusing "
            "to start with a public key.\nSet DJANGO_SECRET_KEY to a long random value, e.g. "
            "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`, or set "
            "DJANGO_DEBUG=1 on a development machine.\n"
        )
        raise SystemExit(2)
    SECRET_KEY = DEVELOPMENT_SECRET_KEY
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_prometheus",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from our static files (offline)
    "django_celery_beat",
    "energy_site",
    # The domain, bottom to top (docs/architecture.md): each app imports only those
    # above it in this list. Admin registrations run in this order too.
    "accounts",
    "audit",
    "jobs",
    "cities",
    "weather",
    "training",
    "forecasts",
    "optimization",
    "dashboard",
    "demo",
    "backups",
]

MIDDLEWARE = [
    # First: nothing below may see a proxy header that no configured proxy sent.
    "accounts.middleware.UntrustedProxyHeadersStrip",
    "energy_site.middleware.RejectMalformedContentLength",
    "energy_site.middleware.DatabaseUnavailable",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Keeps the request for the audit trail's who and from where (audit/context.py).
    "audit.context.AuditRequestContext",
    "energy_site.middleware.MessagesOutsideTheApi",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "energy_site.logging.RequestIdMiddleware",
    # Last, as django-axes asks: turns an admin login during a lockout into its answer.
    "axes.middleware.AxesMiddleware",
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]

ROOT_URLCONF = "energy_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "energy_site.wsgi.application"

# --- Database -------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    # Connections are kept for a minute and checked before reuse, so a web or worker
    # process reconnects by itself after a failover; a connect gives up after a few
    # seconds so that a request meets a 503 rather than hanging (docs/reliability.md).
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
    }
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault(
        "connect_timeout", env_int("DATABASE_CONNECT_TIMEOUT", 3)
    )
    DATABASES["default"]["ENGINE"] = DATABASES["default"]["ENGINE"].replace(
        "django_prometheus.db.backends.", "django.db.backends."
    )
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"
else:
    EMBEDDED_DIRS.append(VAR_DIR)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "energy.sqlite3")),
            # Web and worker are separate processes writing the same file: wait for
            # the write lock instead of failing with "database is locked".
            "OPTIONS": {"timeout": 30, "transaction_mode": "IMMEDIATE"},
        }
    }
USING_EMBEDDED_DEFAULTS = not DATABASE_URL

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ----------------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
CACHE_URL = os.environ.get("CACHE_URL", "") or REDIS_URL
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "ef"),
            "TIMEOUT": env_int("CACHE_TIMEOUT_SECONDS", 3600),
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "COMPRESSOR": "django_redis.compressors.zlib.ZlibCompressor",
                "SOCKET_CONNECT_TIMEOUT": 2,
                "SOCKET_TIMEOUT": 2,
                # A cache outage must degrade to "miss", never to a 500.
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    # The rate limiters' counters (accounts/throttles.py): the same Redis, but errors
    # are raised, not ignored, so that a limiter knows the cache is down and can fail
    # closed (sign-in) or open with a warning (everything else).
    CACHES["throttle"] = {
        **CACHES["default"],
        "OPTIONS": {
            **CACHES["default"]["OPTIONS"],
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
            "IGNORE_EXCEPTIONS": False,
        },
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "energy-forecast",
        },
        "throttle": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "energy-forecast-throttle",
        },
    }

# --- Celery ---------------------------------------------------------------------------
if REDIS_URL:
    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", REDIS_URL)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Longer than the longest task time limit, so that a task still running is
        # never handed to a second worker.
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 7200),
    }
else:
    BROKER_DIR = VAR_DIR / "broker"
    EMBEDDED_DIRS += [BROKER_DIR / sub for sub in ("out", "processed", "control")]
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Exchange bindings; kombu's default is "control" in the current directory,
        # which would split web and worker started from different directories.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True  # clients poll the Job row, never Celery results
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 3600)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 60
# The one declaration of the queues: each queue and the task modules it carries
# (energy_site/celery.py declares them to the broker, health checks each has a worker).
TASK_QUEUES = {
    "inference": ("forecasts.tasks.*", "jobs.tasks.*"),
    # Uploads are data work, not latency-critical: keep them off the inference queue.
    "training": ("training.tasks.*", "cities.tasks.*", "weather.tasks.*"),
    "optimization": ("optimization.tasks.*",),
}
CELERY_TASK_DEFAULT_QUEUE = "inference"
CELERY_TASK_ROUTES = {
    pattern: {"queue": queue} for queue, patterns in TASK_QUEUES.items() for pattern in patterns
}
# A "task-sent" event costs every publish a second message (measured on 2026-12-04,
# 600 publishes each way on a loaded 2-core machine: 3.8 ms a publish with it, 2.4 ms
# without). Flower still sees each task from the
# worker's own events (received, started, succeeded); turn it on to also see queued ones.
CELERY_TASK_SEND_SENT_EVENT = env_bool("CELERY_TASK_SEND_SENT_EVENT", False)
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers log through LOGGING below (JSON lines like the web), not Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
# How long a publish may retry before the API answers 503.
CELERY_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
# Defaults that django-celery-beat copies into its tables, where admins edit them.
CELERY_BEAT_SCHEDULE = {
    "recover-stale-jobs": {
        "task": "jobs.tasks.jobs_recover",
        "schedule": float(env_int("JOB_WATCHDOG_SECONDS", 10)),
    },
    "day-ahead-forecasts": {
        "task": "forecasts.tasks.forecasts_day_ahead",
        "schedule": crontab(minute=0, hour="*"),
    },
    "nightly-retrain": {
        "task": "training.tasks.retrain_active_cities",
        "schedule": crontab(minute=30, hour=2),
    },
    "cleanup-jobs": {"task": "jobs.tasks.jobs_cleanup", "schedule": crontab(minute=0, hour=4)},
    "cleanup-uploads": {
        "task": "cities.tasks.uploads_cleanup",
        "schedule": crontab(minute=10, hour=4),
    },
    # Before the hourly day-ahead forecasts (minute 0): each run reads the latest
    # weather forecast issued before its start (weather/selectors.py).
    "collect-weather-forecasts": {
        "task": "weather.tasks.weather_forecasts_collect",
        "schedule": crontab(minute=50, hour="*"),
    },
}

# --- Application limits ---------------------------------------------------------------
FORECAST_BATCH_SIZE = min(env_int("FORECAST_BATCH_SIZE", 32), 32)  # 32 is a hard cap
FORECAST_BATCH_WAIT_SECONDS = float(os.environ.get("FORECAST_BATCH_WAIT_SECONDS", "0.2"))
# A forecast task answers batches while they come back full, for up to this long, then
# sends itself again (forecasts/batch.py: forecast_batches_drain).
FORECAST_DRAIN_SECONDS = float(os.environ.get("FORECAST_DRAIN_SECONDS", "30"))
FORECAST_MAX_QUEUED_PER_ORG = env_int("FORECAST_MAX_QUEUED_PER_ORG", 500)
FORECAST_CACHE_SECONDS = env_int("FORECAST_CACHE_SECONDS", 3600)
# How long a job's rendered answer is cached (jobs/rendered.py): a finished job never
# changes; an unfinished one is replaced at every state change, and this bounds how long
# a read racing a change can keep the older state.
JOB_CACHE_SECONDS = env_int("JOB_CACHE_SECONDS", 3600)
JOB_CACHE_UNFINISHED_SECONDS = env_int("JOB_CACHE_UNFINISHED_SECONDS", 10)
# GET /jobs/{id}/?wait=N: the longest a client may hold a request for the job to finish
# (below nginx's proxy_read_timeout of 60 s; docs/api.md, "Waiting for a job").
JOB_WAIT_MAX_SECONDS = env_int("JOB_WAIT_MAX_SECONDS", 30)
# Seconds a client should wait before polling an unfinished job again (Retry-After).
JOB_RETRY_AFTER_SECONDS = env_int("JOB_RETRY_AFTER_SECONDS", 1)
# Deployed models each worker process keeps loaded (training/artifacts.py, LRU): a
# full batch of 32 different cities stays in memory (2.5 MB pickled per model of the
# Victoria year); a worker serving more cities than this reads artifacts again.
MODEL_CACHE_SIZE = env_int("MODEL_CACHE_SIZE", 32)
JOB_MAX_ATTEMPTS = env_int("JOB_MAX_ATTEMPTS", 3)
# Leases and the watchdog (docs/reliability.md): a running job's lease lasts
# JOB_LEASE_SECONDS and its worker renews it every JOB_HEARTBEAT_SECONDS; the watchdog
# (beat, every JOB_WATCHDOG_SECONDS) requeues jobs whose lease lapsed and re-sends queued
# jobs whose message is gone (queue empty after JOB_RESEND_SECONDS, or in any case after
# JOB_RESEND_MAX_SECONDS). A kill is recovered within lease + watchdog period (40 s).
JOB_LEASE_SECONDS = env_int("JOB_LEASE_SECONDS", 30)
JOB_HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", JOB_LEASE_SECONDS / 3))
JOB_WATCHDOG_SECONDS = env_int("JOB_WATCHDOG_SECONDS", 10)
JOB_RESEND_SECONDS = env_int("JOB_RESEND_SECONDS", 30)
JOB_RESEND_MAX_SECONDS = env_int("JOB_RESEND_MAX_SECONDS", 300)
# How long a claim keeps retrying while the database is unreachable (failover).
JOB_DATABASE_RETRY_SECONDS = env_int("JOB_DATABASE_RETRY_SECONDS", 30)
JOB_RETENTION_DAYS = env_int("JOB_RETENTION_DAYS", 30)
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 20 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES
# CatBoost iterations; tests lower it to keep the suite fast.
TRAINING_ITERATIONS = env_int("TRAINING_ITERATIONS", 400)
TRAINING_BACKTEST_DAYS = env_int("TRAINING_BACKTEST_DAYS", 28)
# Days of out-of-sample forecasts before each day that calibrate its intervals, and how
# often the backtest refits (training/backtest.py, training/calibration.py).
TRAINING_CALIBRATION_DAYS = env_int("TRAINING_CALIBRATION_DAYS", 28)
TRAINING_REFIT_DAYS = env_int("TRAINING_REFIT_DAYS", 14)
# The weather of the backtest's days: "ex-post" (observed) or "vintages" (the stored
# weather forecast known at each day's midnight, where there is one; weather/selectors.py).
TRAINING_BACKTEST_WEATHER = os.environ.get("TRAINING_BACKTEST_WEATHER", "ex-post")
# Model families a training job backtests (empty: all of them; tests narrow it).
TRAINING_FAMILIES = [f for f in os.environ.get("TRAINING_FAMILIES", "").split(",") if f]

# --- Weather forecasts (weather/) ----------------------------------------------------
# The provider of cities without a weather source of their own ("" collects nothing).
WEATHER_DEFAULT_PROVIDER = os.environ.get("WEATHER_DEFAULT_PROVIDER", "open-meteo")
WEATHER_OPEN_METEO_URL = os.environ.get(
    "WEATHER_OPEN_METEO_URL", "https://api.open-meteo.com/v1/forecast"
)
WEATHER_FORECAST_DAYS = env_int("WEATHER_FORECAST_DAYS", 8)  # covers a 168-hour forecast
# (connect, read) seconds of one provider request.
WEATHER_TIMEOUT_SECONDS = (
    float(os.environ.get("WEATHER_CONNECT_TIMEOUT_SECONDS", "3")),
    float(os.environ.get("WEATHER_READ_TIMEOUT_SECONDS", "10")),
)
# Circuit breaker per provider (pybreaker): open after this many failures in a row,
# one half-open probe after the reset timeout.
WEATHER_BREAKER_FAIL_MAX = env_int("WEATHER_BREAKER_FAIL_MAX", 3)
WEATHER_BREAKER_RESET_SECONDS = float(os.environ.get("WEATHER_BREAKER_RESET_SECONDS", "300"))
# A vintage older than this at a forecast's start is not used (the forecast falls back
# to the no-weather model and says so).
WEATHER_VINTAGE_MAX_AGE_HOURS = env_int("WEATHER_VINTAGE_MAX_AGE_HOURS", 48)
# Fernet keys (comma-separated, newest first) encrypting provider credentials at rest;
# rotation: put the new key first, run `manage.py weather_credentials_rotate`, then drop
# the old key. Unset, a key derived from DJANGO_SECRET_KEY (development only).
WEATHER_CREDENTIALS_KEYS = env_list("WEATHER_CREDENTIALS_KEYS", "")

# --- Storage (model artifacts) --------------------------------------------------------
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media/"
# `manage.py backup` writes here unless told otherwise (backups/, docs/operations.md).
BACKUP_DIR = Path(os.environ.get("BACKUP_DIR", VAR_DIR / "backups"))
STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
if USING_EMBEDDED_DEFAULTS:
    EMBEDDED_DIRS.append(STATIC_ROOT)  # whitenoise warns on every boot otherwise
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# --- Auth and API ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "/admin/login/"

AUTHENTICATION_BACKENDS = [
    # django-axes first: it refuses sign-ins of a locked-out username or address.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Proxies whose X-Forwarded-* headers are believed (accounts/network.py); none by
# default, so a client cannot choose the address its limits and lockout count against.
TRUSTED_PROXY_NETWORKS = env_list("TRUSTED_PROXY_NETWORKS")
# Sign-in lockout (django-axes, counted in the database): AXES_FAILURE_LIMIT failures
# for one username, or from one address, lock it for AXES_COOLOFF_TIME; an admin lifts
# it by deleting its access attempts in the admin or with `manage.py axes_reset`.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "accounts.network.client_ip_for_axes"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
AXES_HTTP_RESPONSE_CODE = 429

# Requests per bucket (accounts/throttles.py): each person, each API key, each
# organisation as a whole, each anonymous address, and sign-ins per address.
# A person's or an API key's authentication facts are cached this long
# (accounts/principals.py); saving the user, membership or key drops them at once.
PRINCIPAL_CACHE_SECONDS = env_int("PRINCIPAL_CACHE_SECONDS", 30)

API_THROTTLE_RATES = {
    "user": os.environ.get("API_THROTTLE_RATE", "6000/min"),
    "api_key": os.environ.get("API_KEY_THROTTLE_RATE", "6000/min"),
    "organization": os.environ.get("ORGANIZATION_THROTTLE_RATE", "20000/min"),
    "anonymous": os.environ.get("ANONYMOUS_THROTTLE_RATE", "600/min"),
    "login": os.environ.get("LOGIN_THROTTLE_RATE", "30/min"),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.auth.PasswordStampedJWTAuthentication",
        "accounts.auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "httpapi.pagination.Pagination",
    "DEFAULT_PARSER_CLASSES": [
        "httpapi.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "PAGE_SIZE": 100,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "httpapi.exceptions.exception_handler",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "httpapi.negotiation.JsonFirstContentNegotiation",
    # The anonymous, user, API key and organisation buckets in one Redis round trip.
    "DEFAULT_THROTTLE_CLASSES": ["accounts.throttles.ApiRateThrottle"],
}
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env_int("JWT_ACCESS_MINUTES", 30)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "TOKEN_OBTAIN_SERIALIZER": "accounts.tokens.PasswordStampedTokenSerializer",
    "TOKEN_REFRESH_SERIALIZER": "accounts.tokens.PasswordCheckedRefreshSerializer",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "energy-forecast API",
    "DESCRIPTION": "Probabilistic electricity demand forecasts and optimised energy mix.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI and Redoc from drf-spectacular-sidecar's pinned copy (static files), never
    # from a CDN: /api/docs/ works offline and always runs the version in requirements.txt.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request bodies get their own components, which state that required text may not
    # be blank (minLength 1) as the serializers enforce.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "httpapi.openapi.add_error_responses",
        "cities.openapi.city_constraints",
        "cities.openapi.upload_body_required",
        "weather.openapi.upload_body_required",
        "forecasts.openapi.batch_constraints",
        "optimization.openapi.fleet_constraints",
    ],
    "ENUM_NAME_OVERRIDES": {
        "JobStateEnum": "jobs.models.Job.State",
        "JobKindEnum": "jobs.models.Job.Kind",
        "ModelStatusEnum": "training.models.ModelVersion.Status",
        "DispatchStatusEnum": "optimization.models.DispatchRun.Status",
        "SourceKindEnum": "optimization.models.GenerationSource.Kind",
    },
}

# --- Metrics: internal only ----------------------------------------------------------
METRICS_BEARER_TOKEN = os.environ.get("METRICS_BEARER_TOKEN", "")
METRICS_ALLOWED_NETWORKS = env_list(
    "METRICS_ALLOWED_NETWORKS", "127.0.0.0/8,::1/128,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16"
)

# Prometheus multiprocess mode: gunicorn workers and Celery pool processes each write
# their samples under this directory and /metrics (or the worker's exporter) adds them
# up. It must exist before the process starts and be private to one process tree:
# energy_site/prometheus_multiprocess.py empties it when gunicorn or a worker starts.
PROMETHEUS_MULTIPROC_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
if PROMETHEUS_MULTIPROC_DIR and not Path(PROMETHEUS_MULTIPROC_DIR).is_dir():
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"PROMETHEUS_MULTIPROC_DIR={PROMETHEUS_MULTIPROC_DIR} is not a directory: create it "
        "(empty, writable) before starting the process, or unset it for a single process."
    )
# django-prometheus's request latency buckets, with edges at the alert's 200 ms (p99 is
# interpolated inside a bucket: deploy/prometheus/alerts.yml, ApiLatencyP99High).
PROMETHEUS_LATENCY_BUCKETS = (
    0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, float("inf"),
)  # fmt: skip
# A Celery worker serves its metrics (all pool processes added up) on this port when set.
WORKER_METRICS_PORT = env_int("WORKER_METRICS_PORT", 0)
WORKER_METRICS_ADDRESS = os.environ.get("WORKER_METRICS_ADDRESS", "127.0.0.1")

# --- Security (production) ------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", False)
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", not DEBUG and bool(DATABASE_URL))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging: structured JSON through structlog -----------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")  # "json" or "console"
from energy_site.logging import configure_logging  # noqa: E402

LOGGING = configure_logging(LOG_LEVEL, LOG_FORMAT)
