"""CSV import/export: bad rows are rejected alone with line number and reason, good rows
apply, and an export imports back unchanged."""

import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from catalog.csv_io import catalog_csv_export, catalog_csv_import
from catalog.errors import CatalogInvalid
from catalog.models import Category, Listing, Product, Variant
from tests.catalog.factories import ListingFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "product_slug,product_name,brand,category,attributes,sku,options,weight_grams,"
    "web.price,web.compare_at_price,web.published,app.price\n"
)


@pytest.fixture
def channels(make_channel):
    return make_channel("web"), make_channel("app", currency="USD")


def run(text: str, **kwargs):
    return catalog_csv_import(file=io.StringIO(text), **kwargs)


def test_import_creates_products_variants_categories_and_listings(channels):
    web, app = channels
    report = run(
        HEADER
        + 'tee,Basic Tee,Acme,apparel/tops,"{""material"": ""cotton""}",TEE-S,size=S;colour=red,'
        "180,12.00,15.00,true,11.50\n"
        "tee,,,,,TEE-M,size=M;colour=red,,12.00,,false,\n"
    )
    assert report.rejected == []
    assert (report.products_created, report.variants_created, report.listings_written) == (1, 2, 3)
    product = Product.objects.get(slug="tee")
    assert product.category.path == "apparel/tops/"
    assert Category.objects.get(slug="apparel").parent is None
    assert product.attributes == {"material": {"type": "text", "value": "cotton"}}
    small = Variant.objects.get(sku="TEE-S")
    assert small.options == {"size": "S", "colour": "red"} and small.weight_grams == 180
    web_listing = Listing.objects.get(variant=small, channel=web)
    assert (web_listing.price, web_listing.compare_at_price) == (Decimal("12.00"), Decimal("15.00"))
    assert Listing.objects.get(variant=small, channel=app).price == Decimal("11.50")
    medium = Listing.objects.get(variant__sku="TEE-M", channel=web)
    assert medium.published is False
    assert not Listing.objects.filter(variant__sku="TEE-M", channel=app).exists()


def test_bad_rows_are_rejected_alone_with_line_and_reason(channels):
    VariantFactory(sku="TAKEN", product=ProductFactory(slug="other"))
    text = (
        HEADER
        + "tee,Tee,Acme,,,TEE-1,,,10.00,,,\n"  # line 2 ok
        + "tee,Tee,Acme,,,TEE-2,,,10.999,,,\n"  # line 3 precision
        + "tee,Tee,Acme,,,TEE-3,,,10.00,5.00,,\n"  # line 4 compare-at below price
        + "tee,Tee,Acme,,,TAKEN,,,10.00,,,\n"  # line 5 SKU of another product
        + "new,,Acme,,,NEW-1,,,10.00,,,\n"  # line 6 new product without name
        + 'tee,Tee,Acme,,"{""bad key"": 1}",TEE-4,,,10.00,,,\n'  # line 7 attribute key
        + "tee,Tee,Acme,,,TEE-5,,heavy,10.00,,,\n"  # line 8 weight
        + "tee,Tee,Acme,,,TEE-6,,,-1,,,\n"  # line 9 negative
        + "tee,Tee,Acme,,,TEE-7,,,,,maybe,\n"  # line 10 boolean
        + "tee,Tee,Acme,,,TEE-8,,,9.00,,true,8.00\n"  # line 11 ok
    )
    report = run(text)
    assert report.rows == 10
    rejected = {row.line: row for row in report.rejected}
    assert sorted(rejected) == [3, 4, 5, 6, 7, 8, 9, 10]
    assert "web.price" in rejected[3].reason and "decimal places" in rejected[3].reason
    assert "compare_at" in rejected[4].reason
    assert "belongs to product other" in rejected[5].reason
    assert "product_name" in rejected[6].reason
    assert "attributes" in rejected[7].reason
    assert "weight" in rejected[8].reason
    assert "negative" in rejected[9].reason
    assert "web.published" in rejected[10].reason
    assert rejected[3].sku == "TEE-2"
    assert set(Variant.objects.filter(product__slug="tee").values_list("sku", flat=True)) == {
        "TEE-1",
        "TEE-8",
    }
    assert not Listing.objects.filter(variant__sku__in=["TEE-2", "TEE-3"]).exists()
    assert not Product.objects.filter(slug="new").exists()


def test_rejected_row_leaves_no_partial_writes(channels):
    # The product and variant of a row are created before its listing fails: all roll back.
    report = run(HEADER + "solo,Solo,Acme,home/decor,,SOLO-1,,,1.234,,,\n")
    assert len(report.rejected) == 1
    assert not Product.objects.filter(slug="solo").exists()
    assert not Variant.objects.filter(sku="SOLO-1").exists()
    assert not Category.objects.filter(slug="decor").exists()


def test_line_numbers_count_physical_lines_of_multiline_cells(channels):
    text = (
        "product_slug,product_name,description,sku,web.price\n"
        'a,A,"two\nlines",A-1,1.00\n'
        "a,A,,A-2,bad\n"
    )
    report = run(text)
    assert [(r.line, r.sku) for r in report.rejected] == [(4, "A-2")]


def test_bad_header_rejects_the_file(channels):
    with pytest.raises(CatalogInvalid) as exc:
        run("sku,colour\nX-1,red\n")
    assert exc.value.code == "bad_header"
    with pytest.raises(CatalogInvalid) as exc:
        run("sku,nowhere.price\nX-1,1.00\n")
    assert exc.value.code == "unknown_channel"
    assert not Variant.objects.exists()


def test_publish_without_price_needs_an_existing_listing(channels):
    web, _ = channels
    variant = VariantFactory(sku="P-1", product=ProductFactory(slug="p"))
    report = run("sku,web.published\nP-1,true\n")
    assert "web.price" in report.rejected[0].reason
    ListingFactory(variant=variant, channel=web, price=Decimal("3.00"), published=False)
    report = run("sku,web.published\nP-1,true\n")
    assert report.rejected == []
    listing = Listing.objects.get(variant=variant, channel=web)
    assert listing.published is True and listing.price == Decimal("3.00")


def test_dry_run_reports_but_saves_nothing(channels):
    report = run(HEADER + "tee,Tee,Acme,,,TEE-1,,,10.00,,,\n", dry_run=True)
    assert report.variants_created == 1
    assert not Variant.objects.exists()


def test_export_then_import_round_trips(channels):
    web, app = channels
    product = ProductFactory(
        slug="mug",
        name="Mug, large",
        description='Says "hello"',
        attributes={"volume_ml": {"type": "number", "value": 350}},
        images=["https://img.example.com/mug.jpg"],
    )
    variant = VariantFactory(product=product, sku="MUG-1", options={"colour": "blue"})
    ListingFactory(
        variant=variant,
        channel=web,
        price=Decimal("9.50"),
        compare_at_price=Decimal("12.00"),
        published=False,
    )
    out = io.StringIO()
    assert catalog_csv_export(out=out) == 1
    exported = out.getvalue()
    assert "web.price" in exported and "9.50" in exported

    Listing.objects.all().delete()
    Variant.objects.all().delete()
    Product.objects.all().delete()
    report = run(exported)
    assert report.rejected == []
    again = Variant.objects.select_related("product").get(sku="MUG-1")
    assert again.product.name == "Mug, large"
    assert again.product.description == 'Says "hello"'
    assert again.product.attributes == product.attributes
    assert again.product.images == product.images
    assert again.options == {"colour": "blue"}
    listing = Listing.objects.get(variant=again)
    assert (listing.channel, listing.price, listing.compare_at_price, listing.published) == (
        web,
        Decimal("9.50"),
        Decimal("12.00"),
        False,
    )
    assert not Listing.objects.filter(channel=app).exists()
    # Importing the same file again changes nothing.
    report = run(exported)
    assert (report.products_updated, report.variants_created, report.variants_updated) == (0, 0, 0)


def test_import_command_reports_rejects_and_writes_them(tmp_path, channels):
    source = tmp_path / "catalog.csv"
    source.write_text(HEADER + "tee,Tee,Acme,,,TEE-1,,,10.00,,,\ntee,Tee,Acme,,,TEE-2,,,x,,,\n")
    rejects = tmp_path / "rejects.csv"
    out = io.StringIO()
    call_command("catalog_import", str(source), "--rejects", str(rejects), stdout=out)
    text = out.getvalue()
    assert "line 3 (TEE-2)" in text and "1 rejected" in text
    assert rejects.read_text().splitlines()[1].startswith("3,TEE-2,")
    assert Variant.objects.filter(sku="TEE-1").exists()


def test_import_command_refuses_a_bad_header(tmp_path, channels):
    source = tmp_path / "bad.csv"
    source.write_text("nope\n1\n")
    with pytest.raises(CommandError, match="File rejected"):
        call_command("catalog_import", str(source), stdout=io.StringIO())


def test_export_command_writes_every_variant(tmp_path, channels):
    web, _ = channels
    for n in range(3):
        ListingFactory(variant=VariantFactory(sku=f"E-{n}"), channel=web)
    target = tmp_path / "out.csv"
    out = io.StringIO()
    call_command("catalog_export", str(target), "--channel", "web", stdout=out)
    lines = target.read_text().splitlines()
    assert len(lines) == 4
    assert lines[0].endswith("web.price,web.compare_at_price,web.published")
    assert "app.price" not in lines[0]
    assert "Wrote 3 variants" in out.getvalue()
