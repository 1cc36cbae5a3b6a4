import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from governance.checks import require_secret_key  # noqa: E402  (needs the settings loaded above)

require_secret_key()

# A web process lives long and allocates heavily per request (ORM rows, template nodes). What it made
# while starting (about 180,000 objects: modules, models, URL and template trees) is moved out of the
# collector's sight, and the youngest generation is collected every 20,000 allocations instead of 700:
# the mix of pages in tests/bench/bench_throughput.py serves about a tenth more requests per second.
gc.collect()
gc.freeze()
gc.set_threshold(20_000, 20, 20)
