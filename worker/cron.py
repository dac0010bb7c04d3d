"""Registers the schedule with `rq cron -u $REDIS_URL worker/cron.py` (it only enqueues)."""

from rq import cron

from worker.schedule import SCHEDULE

for job, interval in SCHEDULE:
    cron.register(job, queue_name="default", interval=interval)
