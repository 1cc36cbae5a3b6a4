"""A task only the worker-kill test loads into its own worker (`celery worker -I tests.reliability.worker_tasks`).

It sends the real 待办 notices of an event step, but the first delivery stops halfway: it sends to
the first holder, tells the test its process id and waits to be killed.
"""

import os
import time

from celery import shared_task


@shared_task(name="tests.reliability.notices_killed_halfway")
def notices_killed_halfway(task_id: int, redis_url: str) -> int:
    import redis

    from grid import task_notices

    client = redis.Redis.from_url(redis_url)
    attempt = client.incr("attempts")
    if attempt == 1:
        original = task_notices.notify

        def notify_then_hang(*args, **kwargs):
            sent = original(*args, **kwargs)
            client.set("pid", os.getpid())
            time.sleep(120)  # the test kills this process here
            return sent

        task_notices.notify = notify_then_hang
    return task_notices.notify_task_holders(task_id)
