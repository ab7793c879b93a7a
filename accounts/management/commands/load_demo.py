"""Create the demo users (only with DEBUG on) and let each app add its demo data."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import demo
from accounts.services import demo_users_ensure


class Command(BaseCommand):
    help = "Create demo users (participant, therapist, researcher) and demo data. DEBUG only."

    def add_arguments(self, parser):
        parser.add_argument("--users-only", action="store_true", help="Skip the apps' demo data (e.g. the catalog).")

    def handle(self, *args, users_only: bool = False, **options):
        if not settings.DEBUG:
            raise CommandError("Demo data is only loaded when DEBUG is on.")
        password = settings.DEMO_USERS_PASSWORD
        users = demo_users_ensure(password=password)
        if not users_only:
            for step in demo.steps():
                self.stdout.write(f"Demo data: {step.name} …")
                message = step.run(self.stdout)
                if message:
                    self.stdout.write(f"  {message}")
        self.stdout.write(self.style.SUCCESS("\nDemo users (log in at http://127.0.0.1:8000/accounts/login/):"))
        for user in users:
            self.stdout.write(f"  {user.role:<12} username: {user.username:<18} password: {password}")
