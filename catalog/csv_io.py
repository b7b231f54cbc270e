"""CSV import and export of the catalog: one row per variant, with its product's fields and
one price/compare-at/published column group per channel.

Columns (header names are fixed; channel groups repeat for every channel exported):

    product_slug, product_name, brand, category, description, attributes, images,
    product_active, sku, barcode, variant_name, options, weight_grams, variant_active,
    <channel>.price, <channel>.compare_at_price, <channel>.published, ...

- `category` is the slug path from the root ("apparel/tops/t-shirts"); missing levels are
  created. `attributes` and `options` are JSON objects or `key=value;key=value`.
  `images` are URLs separated by `|`. Booleans are true/false (also 1/0, yes/no).
- An empty cell leaves the stored value as it is (a new record gets the default). An empty
  `<channel>.price` leaves that channel's listing alone; a price creates or replaces it.
- Each row is applied in its own savepoint: a bad row is rejected (with its line number and
  reason) and every other row still applies. A bad header rejects the whole file.
"""

import contextlib
import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.db import transaction
from django.db.models import QuerySet

from catalog import money, services
from catalog.errors import CatalogInvalid
from catalog.models import Category, Listing, Product, Variant
from catalog.validation import (
    clean_compare_at,
    clean_listing_currency,
    clean_price,
)
from omni.errors import DomainError
from omni.models import Channel

PRODUCT_COLUMNS = [
    "product_slug",
    "product_name",
    "brand",
    "category",
    "description",
    "attributes",
    "images",
    "product_active",
]
VARIANT_COLUMNS = [
    "sku",
    "barcode",
    "variant_name",
    "options",
    "weight_grams",
    "variant_active",
]
CHANNEL_FIELDS = ["price", "compare_at_price", "published"]
TRUE = {"true", "1", "yes", "y"}
FALSE = {"false", "0", "no", "n"}


@dataclass
class RejectedRow:
    line: int
    sku: str
    reason: str


@dataclass
class ImportReport:
    rows: int = 0
    products_created: int = 0
    products_updated: int = 0
    variants_created: int = 0
    variants_updated: int = 0
    listings_written: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.rows - len(self.rejected)

    def summary(self) -> str:
        return (
            f"{self.rows} rows: {self.accepted} imported, {len(self.rejected)} rejected; "
            f"products {self.products_created} created / {self.products_updated} updated, "
            f"variants {self.variants_created} created / {self.variants_updated} updated, "
            f"{self.listings_written} listings written"
        )

    def write_rejects(self, out: IO[str]) -> None:
        writer = csv.writer(out)
        writer.writerow(["line", "sku", "reason"])
        for row in self.rejected:
            writer.writerow([row.line, row.sku, row.reason])


def export_header(channels: Iterable[Channel]) -> list[str]:
    return [
        *PRODUCT_COLUMNS,
        *VARIANT_COLUMNS,
        *(f"{channel.code}.{name}" for channel in channels for name in CHANNEL_FIELDS),
    ]


def _bool_text(value: bool) -> str:
    return "true" if value else "false"


def catalog_csv_export(
    *,
    out: IO[str],
    products: QuerySet[Product] | None = None,
    channels: Iterable[Channel] | None = None,
    progress: Callable[[Iterable], Iterable] | None = None,
) -> int:
    """Write the catalog (or the given products) as CSV to `out`; return the rows written.
    Streams variants in chunks with their listings prefetched, so memory stays flat."""
    channels = list(channels if channels is not None else Channel.objects.order_by("code"))
    writer = csv.writer(out)
    writer.writerow(export_header(channels))
    variants = (
        Variant.objects.select_related("product__category")
        .prefetch_related("listings")
        .order_by("product__name", "product_id", "sku")
    )
    if products is not None:
        variants = variants.filter(product__in=products)
    rows: Iterable[Variant] = variants.iterator(chunk_size=1000)
    if progress is not None:
        rows = progress(rows)
    written = 0
    for variant in rows:
        product = variant.product
        listings = {listing.channel_id: listing for listing in variant.listings.all()}
        cells: list[Any] = [
            product.slug,
            product.name,
            product.brand,
            product.category.path.rstrip("/") if product.category else "",
            product.description,
            json.dumps(product.attributes, sort_keys=True) if product.attributes else "",
            "|".join(product.images),
            _bool_text(product.active),
            variant.sku,
            variant.barcode or "",
            variant.name,
            json.dumps(variant.options, sort_keys=True) if variant.options else "",
            "" if variant.weight_grams is None else variant.weight_grams,
            _bool_text(variant.active),
        ]
        for channel in channels:
            listing = listings.get(channel.pk)
            if listing is None:
                cells += ["", "", ""]
                continue
            cells += [
                money.format_amount(listing.price, listing.currency),
                (
                    ""
                    if listing.compare_at_price is None
                    else money.format_amount(listing.compare_at_price, listing.currency)
                ),
                _bool_text(listing.published),
            ]
        writer.writerow(cells)
        written += 1
    return written


# --- import -------------------------------------------------------------------------------


def _parse_bool(raw: str, *, field: str) -> bool | None:
    value = raw.strip().lower()
    if not value:
        return None
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise CatalogInvalid(f"{raw!r} is not true or false.", code="invalid_boolean", field=field)


def _parse_mapping(raw: str, *, field: str) -> dict | None:
    text = raw.strip()
    if not text:
        return None
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise CatalogInvalid(
                f"Invalid JSON: {exc.msg}.", code="invalid_json", field=field
            ) from exc
        if not isinstance(value, dict):
            raise CatalogInvalid("Expected a JSON object.", code="invalid_json", field=field)
        return value
    pairs = {}
    for part in text.split(";"):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise CatalogInvalid(f"{part!r} is not key=value.", code="invalid_mapping", field=field)
        pairs[key.strip()] = value.strip()
    return pairs


class _Header:
    """Column positions, checked once: unknown columns or channels reject the whole file."""

    def __init__(self, header: list[str]):
        names = [name.strip() for name in header]
        self.index = {name: i for i, name in enumerate(names)}
        if len(self.index) != len(names):
            raise CatalogInvalid("The header repeats a column.", code="bad_header", field="header")
        if "sku" not in self.index:
            raise CatalogInvalid("The header needs a sku column.", code="bad_header", field="sku")
        codes = set()
        unknown = []
        for name in names:
            if name in PRODUCT_COLUMNS or name in VARIANT_COLUMNS:
                continue
            code, _, attr = name.rpartition(".")
            if code and attr in CHANNEL_FIELDS:
                codes.add(code)
            else:
                unknown.append(name)
        if unknown:
            raise CatalogInvalid(
                f"Unknown columns: {', '.join(unknown)}.", code="bad_header", field="header"
            )
        channels = {c.code: c for c in Channel.objects.filter(code__in=codes)}
        missing = sorted(codes - set(channels))
        if missing:
            raise CatalogInvalid(
                f"Unknown channels in the header: {', '.join(missing)}.",
                code="unknown_channel",
                field="header",
            )
        self.channels = [channels[code] for code in sorted(channels)]

    def get(self, row: list[str], name: str) -> str:
        i = self.index.get(name)
        return row[i].strip() if i is not None and i < len(row) else ""

    def has(self, name: str) -> bool:
        return name in self.index


class _RowImporter:
    def __init__(self, header: _Header, report: ImportReport):
        self.header = header
        self.report = report
        self.categories: dict[str, Category] = {}

    def category(self, path: str) -> Category:
        path = path.strip().strip("/")
        if path not in self.categories:
            self.categories[path] = services.category_ensure_path(slugs=path.split("/"))
        return self.categories[path]

    def product_fields(self, row: list[str]) -> dict[str, Any]:
        h = self.header
        fields: dict[str, Any] = {}
        for column, key in (("product_name", "name"), ("brand", "brand")):
            if h.get(row, column):
                fields[key] = h.get(row, column)
        if h.has("description") and h.get(row, "description"):
            fields["description"] = h.get(row, "description")
        if h.get(row, "category"):
            fields["category"] = self.category(h.get(row, "category"))
        attributes = _parse_mapping(h.get(row, "attributes"), field="attributes")
        if attributes is not None:
            fields["attributes"] = attributes
        if h.get(row, "images"):
            fields["images"] = [u.strip() for u in h.get(row, "images").split("|") if u.strip()]
        active = _parse_bool(h.get(row, "product_active"), field="product_active")
        if active is not None:
            fields["active"] = active
        return fields

    def variant_fields(self, row: list[str]) -> dict[str, Any]:
        h = self.header
        fields: dict[str, Any] = {}
        if h.get(row, "barcode"):
            fields["barcode"] = h.get(row, "barcode")
        if h.get(row, "variant_name"):
            fields["name"] = h.get(row, "variant_name")
        options = _parse_mapping(h.get(row, "options"), field="options")
        if options is not None:
            fields["options"] = options
        if h.get(row, "weight_grams"):
            fields["weight_grams"] = h.get(row, "weight_grams")
        active = _parse_bool(h.get(row, "variant_active"), field="variant_active")
        if active is not None:
            fields["active"] = active
        return fields

    def apply(self, row: list[str]) -> None:
        h = self.header
        sku = h.get(row, "sku")
        if not sku:
            raise CatalogInvalid("The sku is empty.", code="required", field="sku")
        variant = Variant.objects.select_related("product").filter(sku=sku).first()
        slug = h.get(row, "product_slug")
        product_fields = self.product_fields(row)
        if variant is not None:
            product = variant.product
            if slug and slug != product.slug:
                raise CatalogInvalid(
                    f"SKU {sku} belongs to product {product.slug}, not {slug}.",
                    code="sku_product_mismatch",
                    field="product_slug",
                )
        else:
            if not slug:
                raise CatalogInvalid(
                    "A new SKU needs a product_slug.", code="required", field="product_slug"
                )
            product = Product.objects.filter(slug=slug).first()
        if product is None:
            if "name" not in product_fields:
                raise CatalogInvalid(
                    "A new product needs a product_name.", code="required", field="product_name"
                )
            product = services.product_create(slug=slug, **product_fields)
            self.report.products_created += 1
        elif product_fields:
            before = product.updated_at
            product = services.product_update(product=product, **product_fields)
            if product.updated_at != before:
                self.report.products_updated += 1
        variant_fields = self.variant_fields(row)
        if variant is None:
            variant = services.variant_create(product=product, sku=sku, **variant_fields)
            self.report.variants_created += 1
        elif variant_fields:
            before = [getattr(variant, name) for name in variant_fields]
            variant = services.variant_update(variant=variant, **variant_fields)
            if before != [getattr(variant, name) for name in variant_fields]:
                self.report.variants_updated += 1
        self.report.listings_written += self.listings(row, variant)

    def listings(self, row: list[str], variant: Variant) -> int:
        """Validate every channel group of the row, then write them with one upsert."""
        h = self.header
        existing = {listing.channel_id: listing for listing in variant.listings.all()}
        to_write = []
        for channel in h.channels:
            prefix = channel.code
            raw_price = h.get(row, f"{prefix}.price")
            raw_compare = h.get(row, f"{prefix}.compare_at_price")
            published = _parse_bool(h.get(row, f"{prefix}.published"), field=f"{prefix}.published")
            current = existing.get(channel.pk)
            if not raw_price:
                if raw_compare:
                    raise CatalogInvalid(
                        "A compare-at price needs a price.",
                        code="required",
                        field=f"{prefix}.price",
                    )
                if published is None or (current and current.published == published):
                    continue
                if current is None:
                    raise CatalogInvalid(
                        f"Not listed in {prefix}: give a price to publish it there.",
                        code="required",
                        field=f"{prefix}.price",
                    )
                raw_price = current.price
                raw_compare = current.compare_at_price
            currency = clean_listing_currency(None, channel=channel)
            price = clean_price(raw_price, currency=currency, field=f"{prefix}.price")
            compare = clean_price(
                raw_compare or None,
                currency=currency,
                field=f"{prefix}.compare_at_price",
                allow_none=True,
            )
            clean_compare_at(price, compare, field=f"{prefix}.compare_at_price")
            if published is None:
                published = current.published if current else True
            to_write.append(
                Listing(
                    variant=variant,
                    channel=channel,
                    price=price,
                    compare_at_price=compare,
                    currency=currency,
                    published=published,
                )
            )
        if to_write:
            Listing.objects.bulk_create(
                to_write,
                update_conflicts=True,
                unique_fields=["variant", "channel"],
                update_fields=["price", "compare_at_price", "currency", "published", "updated_at"],
            )
            services.channel_products_refresh(product_ids=[variant.product_id])
        return len(to_write)


def _numbered_rows(reader) -> Iterator[tuple[int, list[str]]]:
    for row in reader:
        yield reader.line_num, row


def catalog_csv_import(
    *,
    file: IO[str],
    progress: Callable[[Iterable], Iterable] | None = None,
    dry_run: bool = False,
) -> ImportReport:
    """Import a catalog CSV (format in the module docstring); return the report.

    Every row runs in its own savepoint through the catalog services, so it keeps every rule
    the API keeps; a row that breaks one is rolled back alone and reported with its line
    number (the physical line where the record ends) and reason. With `dry_run` everything is
    validated and applied, then rolled back: the report says what would happen.
    """
    reader = csv.reader(file)
    try:
        header_row = next(reader)
    except StopIteration:
        raise CatalogInvalid("The file is empty.", code="empty_file", field="file") from None
    header = _Header(header_row)
    report = ImportReport()
    importer = _RowImporter(header, report)
    rows: Iterable[tuple[int, list[str]]] = _numbered_rows(reader)
    if progress is not None:
        rows = progress(rows)
    # Rows commit one by one; only a dry run wraps them all in a transaction to roll back.
    with transaction.atomic() if dry_run else contextlib.nullcontext():
        for line, row in rows:
            if not any(cell.strip() for cell in row):
                continue
            report.rows += 1
            sku = header.get(row, "sku")
            try:
                with transaction.atomic():
                    importer.apply(row)
            except DomainError as exc:
                where = f"{exc.field}: " if exc.field else ""
                report.rejected.append(RejectedRow(line=line, sku=sku, reason=where + exc.message))
                # A rolled-back savepoint may have created categories this import cached.
                importer.categories.clear()
        if dry_run:
            transaction.set_rollback(True)
    return report
