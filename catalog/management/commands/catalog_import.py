"""`manage.py catalog_import FILE`: import a catalog CSV with a progress bar and a report of
rejected rows (line number and reason). A bad row rejects that row only."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from catalog.csv_io import catalog_csv_import
from omni.errors import DomainError


class Command(BaseCommand):
    help = "Import products, variants and channel listings from a CSV file."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--rejects", type=Path, help="Also write the rejected rows to this CSV file."
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Validate and report, then roll everything back."
        )

    def handle(self, *args, file: Path, rejects: Path | None, dry_run: bool, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        with file.open(newline="", encoding="utf-8-sig") as handle:
            total = max(0, sum(1 for _ in handle) - 1)
            handle.seek(0)
            try:
                report = catalog_csv_import(
                    file=handle,
                    dry_run=dry_run,
                    progress=lambda rows: tqdm(rows, total=total, unit="row"),
                )
            except DomainError as exc:
                raise CommandError(f"File rejected: {exc.message}") from exc
        for row in report.rejected:
            self.stdout.write(self.style.WARNING(f"line {row.line} ({row.sku}): {row.reason}"))
        if rejects is not None:
            with rejects.open("w", newline="", encoding="utf-8") as out:
                report.write_rejects(out)
        prefix = "DRY RUN, nothing saved: " if dry_run else ""
        style = self.style.SUCCESS if not report.rejected else self.style.WARNING
        self.stdout.write(style(prefix + report.summary()))
