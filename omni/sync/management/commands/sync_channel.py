"""`manage.py sync_channel CHANNEL --pull orders|stock|prices [--file PATH]`, or a push,
or a reconciliation, run in the foreground with a progress bar."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime
from tqdm import tqdm

from omni.errors import DomainError
from omni.models import Channel
from omni.sync.services.availability import availability_push_full
from omni.sync.services.feeds import feed_pull
from omni.sync.services.reconcile import channel_reconcile


class Command(BaseCommand):
    help = "Pull a channel feed (stock, prices, orders), push availability, or reconcile."

    def add_arguments(self, parser):
        parser.add_argument("channel", help="channel code")
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument(
            "--pull",
            action="append",
            choices=["orders", "stock", "prices"],
            help="what the feed holds; repeat for a combined stock-and-price feed",
        )
        group.add_argument(
            "--push-availability", action="store_true", help="full available-to-sell push"
        )
        group.add_argument("--reconcile", action="store_true", help="compare the channel's view")
        parser.add_argument("--file", help="local path or http(s) URL (default: configured)")
        parser.add_argument(
            "--as-of", help="ISO time the counts were taken, for rows without as_of"
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        channel = Channel.objects.filter(code=options["channel"]).first()
        if channel is None:
            raise CommandError(f"Unknown channel {options['channel']!r}.")
        try:
            if options["push_availability"]:
                run = availability_push_full(channel=channel)
            elif options["reconcile"]:
                run = channel_reconcile(channel=channel)
            else:
                run = self._pull(channel, options)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        self.stdout.write(
            f"run #{run.pk} {run.status}: read {run.rows_read}, applied {run.rows_applied}, "
            f"unchanged {run.rows_unchanged}, rejected {run.rows_rejected}"
        )
        for rejection in run.rejections.all()[:20]:
            self.stdout.write(f"  line {rejection.line}: {rejection.code}: {rejection.reason}")
        if run.rows_rejected > 20:
            self.stdout.write(f"  ... and {run.rows_rejected - 20} more (see the admin)")
        if run.error:
            raise CommandError(run.error)

    def _pull(self, channel, options):
        as_of = None
        if options["as_of"]:
            as_of = parse_datetime(options["as_of"])
            if as_of is None or as_of.tzinfo is None:
                raise CommandError("--as-of needs an ISO time with a UTC offset.")
        bar = tqdm(unit=" rows", disable=options["no_progress"], file=self.stdout, mininterval=0.5)
        try:
            return feed_pull(
                channel=channel,
                kinds=options["pull"],
                source=options["file"],
                as_of=as_of,
                progress=bar.update,
            )
        finally:
            bar.close()
