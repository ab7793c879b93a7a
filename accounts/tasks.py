"""Small tasks that prove the task queue works end to end."""

from celery import shared_task


@shared_task(name="accounts.tasks.ping")
def ping(value: str) -> str:
    return f"pong:{value}"
