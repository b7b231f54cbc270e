"""`manage.py catalog_export FILE`: write the catalog as CSV (the format catalog_import reads)
with a progress bar."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.csv_io import catalog_csv_export
from catalog.models import Variant
from omni.models import Channel


class Command(BaseCommand):
    help = "Export products, variants and channel listings to a CSV file."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--channel",
            action="append",
            dest="channels",
            help="Only these channels' price columns (repeatable; default: all channels).",
        )

    def handle(self, *args, file: Path, channels: list[str] | None, **options):
        selected = Channel.objects.order_by("code")
        if channels:
            selected = selected.filter(code__in=channels)
            unknown = set(channels) - set(selected.values_list("code", flat=True))
            if unknown:
                raise CommandError(f"Unknown channels: {', '.join(sorted(unknown))}")
        total = Variant.objects.count()
        with file.open("w", newline="", encoding="utf-8") as out:
            written = catalog_csv_export(
                out=out,
                channels=selected,
                progress=lambda rows: tqdm(rows, total=total, unit="row"),
            )
        self.stdout.write(self.style.SUCCESS(f"Wrote {written} variants to {file}"))
