"""Start-up checks of the deployment that Django's own checks do not make."""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.core.exceptions import ImproperlyConfigured

MISSING_SECRET_KEY = "未设置 SECRET_KEY：生产环境（DEBUG 关闭）必须通过环境变量提供 SECRET_KEY。"


def secret_key_missing() -> bool:
    return settings.SECRET_KEY_REQUIRED and not settings.SECRET_KEY_FROM_ENVIRONMENT


@register(Tags.security, deploy=True)
def secret_key_is_set(app_configs, **kwargs):
    if not secret_key_missing():
        return []
    return [Error(MISSING_SECRET_KEY, hint="生成方法见 README“生产部署”。", id="governance.E001")]


def require_secret_key() -> None:
    """The web server and the Celery worker call this at start-up: nothing is signed with a throwaway key."""
    if secret_key_missing():
        raise ImproperlyConfigured(MISSING_SECRET_KEY)
