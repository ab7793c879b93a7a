"""manage.py train_playlist_gan: train the gan strategy's model (design 004) on the catalog."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from recommender import conf
from recommender.tasks import ml_train_gan


class Command(BaseCommand):
    help = "Train the conditional GAN on the catalog's features and labels (stored under MODELS_DIR)."

    def add_arguments(self, parser):
        parser.add_argument("--epochs", type=int, default=conf.GAN_EPOCHS)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--queue", action="store_true", help="Send it to the Celery ml queue and return.")

    def handle(self, *args, epochs: int, seed: int, queue: bool, **options):
        if epochs < 1:
            raise CommandError("--epochs must be at least 1.")
        if queue:
            ml_train_gan.delay(epochs=epochs, seed=seed)
            self.stdout.write("GAN training queued on the ml queue.")
            return
        from django.core.exceptions import ValidationError

        try:
            result = ml_train_gan.apply(kwargs={"epochs": epochs, "seed": seed}).get()
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(self.style.SUCCESS(f"GAN trained on {result['rows']} tracks, saved to {result['path']}"))
