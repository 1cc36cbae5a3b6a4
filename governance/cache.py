"""The Redis cache, failing soft: when Redis is down a read is a miss and a write is skipped.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

import logging
import time

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient

logger = logging.getLogger(__name__)

_WARN_EVERY_SECONDS = 60


class ReusingRedisCacheClient(RedisCacheClient):
    """Django's client makes a new redis.Redis for every cache operation, and redis-py fills a table of
    some 170 reply handlers in each (about a fifth of a millisecond, twice or more on every page). One
    redis.Redis per connection pool is enough: it is thread-safe and takes a pooled connection per command."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients.setdefault(index, self._client(connection_pool=self._get_connection_pool(write)))
        return client


class FailSoftRedisCache(RedisCache):
    _last_warning = 0.0

    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def _soft(self, operation: str, call, fallback):
        try:
            return call()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            now = time.monotonic()
            if now - FailSoftRedisCache._last_warning > _WARN_EVERY_SECONDS:
                FailSoftRedisCache._last_warning = now
                logger.warning("cache %s skipped, Redis unavailable: %s", operation, exc)
            return fallback

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._soft("add", lambda: super(FailSoftRedisCache, self).add(key, value, timeout, version), False)

    def get(self, key, default=None, version=None):
        return self._soft("get", lambda: super(FailSoftRedisCache, self).get(key, default, version), default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._soft("set", lambda: super(FailSoftRedisCache, self).set(key, value, timeout, version), None)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._soft("touch", lambda: super(FailSoftRedisCache, self).touch(key, timeout, version), False)

    def delete(self, key, version=None):
        return self._soft("delete", lambda: super(FailSoftRedisCache, self).delete(key, version), False)

    def get_many(self, keys, version=None):
        return self._soft("get_many", lambda: super(FailSoftRedisCache, self).get_many(keys, version), {})

    def has_key(self, key, version=None):
        return self._soft("has_key", lambda: super(FailSoftRedisCache, self).has_key(key, version), False)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._soft("set_many", lambda: super(FailSoftRedisCache, self).set_many(data, timeout, version),
                          list(data))

    def delete_many(self, keys, version=None):
        return self._soft("delete_many", lambda: super(FailSoftRedisCache, self).delete_many(keys, version), None)
