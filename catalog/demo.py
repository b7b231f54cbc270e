"""Demo catalog: ~330 products and ~2,000 variants in realistic categories, listed in the demo
channels with some channel-specific prices, sales and gaps. Seeded, so every run builds the
same catalog; idempotent, because only missing rows are inserted (bulk, in one transaction)."""

import random
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils.text import slugify
from tqdm import tqdm

from catalog import money
from catalog.models import Category, Listing, Product, Variant
from catalog.services import channel_products_refresh
from omni.models import Channel

SEED = 20261123
DEMO_CHANNEL_CODES = [
    "store-downtown",
    "store-riverside",
    "web",
    "app",
    "marketplace",
    "social",
    "phone",
]

APPAREL_SIZES = ["XS", "S", "M", "L", "XL"]
SHOE_SIZES = ["7", "8", "9", "10", "11", "12"]
COLOURS = {
    "black": "BLK",
    "white": "WHT",
    "navy": "NVY",
    "grey": "GRY",
    "olive": "OLV",
    "red": "RED",
    "sand": "SND",
    "blue": "BLU",
    "brown": "BRN",
    "pink": "PNK",
}


@dataclass(frozen=True)
class Leaf:
    """A leaf category and how its products look."""

    path: tuple[str, ...]
    name: str
    code: str
    nouns: tuple[str, ...]
    brands: tuple[str, ...]
    price: tuple[int, int]
    kind: str
    count: int
    materials: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


APPAREL_BRANDS = ("Northline", "Harbor & Co", "Fieldwork", "Mono Studio", "Kestrel")
LEAVES = [
    Leaf(
        ("apparel", "mens", "mens-t-shirts"),
        "T-shirts",
        "MTS",
        ("Crew Tee", "V-neck Tee", "Pocket Tee", "Henley"),
        APPAREL_BRANDS,
        (14, 35),
        "apparel",
        14,
        ("cotton", "organic cotton", "cotton blend"),
    ),
    Leaf(
        ("apparel", "mens", "mens-shirts"),
        "Shirts",
        "MSH",
        ("Oxford Shirt", "Linen Shirt", "Flannel Shirt", "Chambray Shirt"),
        APPAREL_BRANDS,
        (39, 89),
        "apparel",
        12,
        ("cotton", "linen", "flannel"),
    ),
    Leaf(
        ("apparel", "mens", "mens-jeans"),
        "Jeans",
        "MJN",
        ("Slim Jeans", "Straight Jeans", "Relaxed Jeans"),
        APPAREL_BRANDS,
        (49, 119),
        "apparel",
        11,
        ("denim", "stretch denim"),
    ),
    Leaf(
        ("apparel", "mens", "mens-jackets"),
        "Jackets",
        "MJK",
        ("Field Jacket", "Puffer Jacket", "Rain Shell", "Bomber"),
        APPAREL_BRANDS,
        (79, 249),
        "apparel",
        11,
        ("nylon", "wool", "cotton canvas"),
    ),
    Leaf(
        ("apparel", "mens", "mens-sweaters"),
        "Sweaters",
        "MSW",
        ("Crewneck Sweater", "Cardigan", "Quarter-zip"),
        APPAREL_BRANDS,
        (45, 129),
        "apparel",
        10,
        ("merino", "cotton", "lambswool"),
    ),
    Leaf(
        ("apparel", "womens", "womens-t-shirts"),
        "T-shirts",
        "WTS",
        ("Boxy Tee", "Fitted Tee", "Long-sleeve Tee", "Tank"),
        APPAREL_BRANDS,
        (12, 35),
        "apparel",
        14,
        ("cotton", "modal", "organic cotton"),
    ),
    Leaf(
        ("apparel", "womens", "womens-dresses"),
        "Dresses",
        "WDR",
        ("Wrap Dress", "Midi Dress", "Shirt Dress", "Slip Dress"),
        APPAREL_BRANDS,
        (49, 159),
        "apparel",
        12,
        ("viscose", "linen", "silk"),
    ),
    Leaf(
        ("apparel", "womens", "womens-jeans"),
        "Jeans",
        "WJN",
        ("Skinny Jeans", "Wide-leg Jeans", "Mom Jeans"),
        APPAREL_BRANDS,
        (49, 119),
        "apparel",
        11,
        ("denim", "stretch denim"),
    ),
    Leaf(
        ("apparel", "womens", "womens-jackets"),
        "Jackets",
        "WJK",
        ("Trench Coat", "Denim Jacket", "Quilted Jacket"),
        APPAREL_BRANDS,
        (79, 259),
        "apparel",
        10,
        ("cotton gabardine", "denim", "nylon"),
    ),
    Leaf(
        ("apparel", "womens", "womens-knitwear"),
        "Knitwear",
        "WKN",
        ("Cable Knit", "Ribbed Cardigan", "Turtleneck"),
        APPAREL_BRANDS,
        (45, 139),
        "apparel",
        10,
        ("merino", "cashmere blend", "cotton"),
    ),
    Leaf(
        ("footwear", "sneakers"),
        "Sneakers",
        "SNK",
        ("Court Sneaker", "Runner", "Canvas Low", "High-top"),
        ("Stride", "Paceline", "Kestrel"),
        (59, 149),
        "footwear",
        16,
        ("leather", "canvas", "knit"),
    ),
    Leaf(
        ("footwear", "boots"),
        "Boots",
        "BOT",
        ("Chelsea Boot", "Hiking Boot", "Work Boot"),
        ("Stride", "Ridgeway"),
        (99, 229),
        "footwear",
        14,
        ("leather", "suede"),
    ),
    Leaf(
        ("footwear", "sandals"),
        "Sandals",
        "SDL",
        ("Slide", "Sport Sandal", "Flip Flop"),
        ("Stride", "Tidewater"),
        (19, 79),
        "footwear",
        12,
        ("rubber", "leather", "EVA"),
    ),
    Leaf(
        ("home", "kitchen"),
        "Kitchen",
        "KIT",
        ("Chef's Knife", "Cast Iron Skillet", "Enamel Pot", "Cutting Board", "Pour-over Kettle"),
        ("Hearth", "Copperline"),
        (19, 149),
        "home",
        16,
        ("stainless steel", "cast iron", "oak"),
    ),
    Leaf(
        ("home", "bedding"),
        "Bedding",
        "BED",
        ("Duvet Cover", "Sheet Set", "Linen Pillowcase", "Wool Throw"),
        ("Restwell", "Hearth"),
        (29, 199),
        "bedding",
        14,
        ("percale cotton", "linen", "sateen"),
    ),
    Leaf(
        ("home", "decor"),
        "Decor",
        "DEC",
        ("Ceramic Vase", "Table Lamp", "Wall Mirror", "Candle"),
        ("Hearth", "Mono Studio"),
        (15, 179),
        "home",
        14,
        ("ceramic", "glass", "brass"),
    ),
    Leaf(
        ("home", "bath"),
        "Bath",
        "BTH",
        ("Bath Towel", "Bath Mat", "Robe"),
        ("Restwell",),
        (14, 89),
        "home",
        12,
        ("cotton terry", "waffle cotton"),
    ),
    Leaf(
        ("electronics-accessories", "chargers"),
        "Chargers",
        "CHG",
        ("USB-C Charger", "Wireless Charger", "Car Charger", "Power Bank"),
        ("Voltix", "Amperlane"),
        (15, 79),
        "electronics",
        14,
        (),
    ),
    Leaf(
        ("electronics-accessories", "cables"),
        "Cables",
        "CBL",
        ("USB-C Cable", "Lightning Cable", "HDMI Cable"),
        ("Voltix", "Amperlane"),
        (9, 35),
        "cables",
        12,
        (),
    ),
    Leaf(
        ("electronics-accessories", "headphones"),
        "Headphones",
        "HPH",
        ("Wireless Earbuds", "Over-ear Headphones", "Sport Earbuds"),
        ("Sonora", "Voltix"),
        (29, 299),
        "electronics",
        12,
        (),
    ),
    Leaf(
        ("electronics-accessories", "phone-cases"),
        "Phone cases",
        "CAS",
        ("Silicone Case", "Leather Folio", "Clear Case"),
        ("Shellguard",),
        (15, 59),
        "cases",
        12,
        ("silicone", "leather", "polycarbonate"),
    ),
    Leaf(
        ("beauty", "skincare"),
        "Skincare",
        "SKN",
        ("Daily Moisturiser", "Vitamin C Serum", "Gel Cleanser", "SPF 50 Fluid"),
        ("Lumen", "Verdant"),
        (12, 69),
        "beauty-size",
        12,
        (),
    ),
    Leaf(
        ("beauty", "makeup"),
        "Makeup",
        "MKP",
        ("Tinted Balm", "Liquid Concealer", "Matte Lipstick"),
        ("Lumen", "Rouge Atelier"),
        (9, 39),
        "beauty-shade",
        10,
        (),
    ),
    Leaf(
        ("beauty", "fragrance"),
        "Fragrance",
        "FRG",
        ("Eau de Parfum", "Eau de Toilette", "Body Mist"),
        ("Verdant", "Maison Orée"),
        (25, 145),
        "beauty-size",
        10,
        (),
    ),
    Leaf(
        ("beauty", "haircare"),
        "Haircare",
        "HAR",
        ("Repair Shampoo", "Hydrating Conditioner", "Hair Oil"),
        ("Verdant", "Lumen"),
        (9, 39),
        "beauty-size",
        10,
        (),
    ),
]

CATEGORY_NAMES = {
    "apparel": "Apparel",
    "mens": "Men",
    "womens": "Women",
    "footwear": "Footwear",
    "home": "Home",
    "electronics-accessories": "Electronics accessories",
    "beauty": "Beauty",
}
ADJECTIVES = (
    "Classic",
    "Everyday",
    "Essential",
    "Heritage",
    "Studio",
    "Coastal",
    "Urban",
    "Alpine",
)


@dataclass
class VariantSpec:
    sku: str
    name: str
    options: dict
    weight_grams: int
    barcode: str
    price_delta: Decimal = Decimal(0)


@dataclass
class ProductSpec:
    index: int
    slug: str
    name: str
    brand: str
    description: str
    leaf: Leaf
    attributes: dict
    base_price: Decimal
    variants: list[VariantSpec]


def _ean13(number: int) -> str:
    """A valid EAN-13 in the in-store prefix range 200-299 (never clashes with real GTINs)."""
    body = f"2{number:011d}"
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body))
    return body + str((10 - total % 10) % 10)


def _price(rng: random.Random, low: int, high: int) -> Decimal:
    whole = rng.randint(low, high)
    return Decimal(whole) + (
        Decimal("0.99") if whole > 20 or rng.random() < 0.5 else Decimal("0.5")
    )


def _variants(rng: random.Random, leaf: Leaf, code: str, counter: list[int]) -> list[VariantSpec]:
    def spec(suffix: str, name: str, options: dict, grams: int, delta: str = "0") -> VariantSpec:
        counter[0] += 1
        return VariantSpec(
            sku=f"{code}-{suffix}",
            name=name,
            options=options,
            weight_grams=grams,
            barcode=_ean13(counter[0]),
            price_delta=Decimal(delta),
        )

    colours = rng.sample(sorted(COLOURS), 2 if leaf.kind != "footwear" else rng.choice([1, 2]))
    out = []
    if leaf.kind == "apparel":
        grams = rng.randint(150, 900)
        for colour in colours:
            for size in APPAREL_SIZES:
                out.append(
                    spec(
                        f"{COLOURS[colour]}-{size}",
                        f"{colour.title()} / {size}",
                        {"colour": colour, "size": size},
                        grams,
                    )
                )
    elif leaf.kind == "footwear":
        grams = rng.randint(300, 1200)
        for colour in colours:
            for size in SHOE_SIZES:
                out.append(
                    spec(
                        f"{COLOURS[colour]}-{size}",
                        f"{colour.title()} / US {size}",
                        {"colour": colour, "size": size},
                        grams,
                    )
                )
    elif leaf.kind == "bedding":
        for n, size in enumerate(["Twin", "Full", "Queen", "King"]):
            out.append(
                spec(size[:2].upper(), size, {"size": size.lower()}, 800 + 300 * n, str(10 * n))
            )
    elif leaf.kind == "cables":
        for n, length in enumerate(["1m", "2m", "3m"]):
            out.append(spec(length.upper(), length, {"length": length}, 40 + 30 * n, str(3 * n)))
    elif leaf.kind == "cases":
        for model in rng.sample(["Phone 14", "Phone 15", "Phone 15 Pro", "Phone 16"], 3):
            for colour in colours[:1]:
                out.append(
                    spec(
                        f"{slugify(model).upper()}-{COLOURS[colour]}",
                        f"{model} / {colour.title()}",
                        {"model": model, "colour": colour},
                        40,
                    )
                )
    elif leaf.kind == "beauty-size":
        for n, volume in enumerate(["30ml", "50ml", "100ml"]):
            out.append(spec(volume.upper(), volume, {"size": volume}, 60 + 50 * n, str(8 * n)))
    elif leaf.kind == "beauty-shade":
        for shade in rng.sample(["fair", "light", "medium", "tan", "deep", "rich"], 4):
            out.append(spec(shade.upper()[:4], shade.title(), {"shade": shade}, 30))
    elif leaf.kind == "electronics":
        for colour in colours:
            out.append(
                spec(COLOURS[colour], colour.title(), {"colour": colour}, rng.randint(50, 400))
            )
    else:  # home
        for colour in colours:
            out.append(
                spec(COLOURS[colour], colour.title(), {"colour": colour}, rng.randint(200, 3000))
            )
    return out


def _attributes(rng: random.Random, leaf: Leaf) -> dict:
    attrs: dict = {}
    if leaf.materials:
        attrs["material"] = {"type": "text", "value": rng.choice(leaf.materials)}
    if leaf.kind == "apparel":
        attrs["fit"] = {"type": "text", "value": rng.choice(["slim", "regular", "relaxed"])}
        attrs["machine_washable"] = {"type": "boolean", "value": rng.random() < 0.8}
    elif leaf.kind == "footwear":
        attrs["waterproof"] = {"type": "boolean", "value": rng.random() < 0.3}
    elif leaf.kind == "electronics":
        attrs["watts"] = {"type": "number", "value": rng.choice([5, 10, 20, 30, 65]), "unit": "W"}
        attrs["connector"] = {"type": "text", "value": rng.choice(["USB-C", "Lightning", "Qi"])}
    elif leaf.kind in ("beauty-size", "beauty-shade"):
        attrs["skin_type"] = {
            "type": "text",
            "value": rng.choice(["all", "dry", "oily", "sensitive"]),
        }
        attrs["vegan"] = {"type": "boolean", "value": rng.random() < 0.6}
    return attrs


def build_specs() -> list[ProductSpec]:
    """The whole demo catalog, derived from the seed alone (no database access)."""
    rng = random.Random(SEED)
    specs: list[ProductSpec] = []
    slugs: set[str] = set()
    barcode_counter = [0]
    index = 0
    for leaf in LEAVES:
        for n in range(leaf.count):
            index += 1
            brand = rng.choice(leaf.brands)
            noun = leaf.nouns[n % len(leaf.nouns)]
            name = f"{brand} {rng.choice(ADJECTIVES)} {noun}"
            slug = slugify(name)
            while slug in slugs:
                slug = f"{slugify(name)}-{n + 2}"
                name = f"{name} {n + 2}"
            slugs.add(slug)
            attributes = _attributes(rng, leaf)
            material = attributes.get("material", {}).get("value")
            description = (
                f"{noun} by {brand}"
                + (f" in {material}" if material else "")
                + f". Part of our {leaf.name.lower()} range, designed to last and easy to "
                "care for."
            )
            code = f"{leaf.code}-{n + 1:03d}"
            specs.append(
                ProductSpec(
                    index=index,
                    slug=slug,
                    name=name,
                    brand=brand,
                    description=description,
                    leaf=leaf,
                    attributes=attributes,
                    base_price=_price(rng, *leaf.price),
                    variants=_variants(rng, leaf, code, barcode_counter),
                )
            )
    return specs


def _round_retail(amount: Decimal) -> Decimal:
    """Round to the nearest whole amount less one cent (x.99), as shelf prices are."""
    return amount.quantize(Decimal(1), rounding=ROUND_HALF_UP) + Decimal("-0.01")


def channel_offer(spec: ProductSpec, code: str) -> tuple[Decimal, Decimal | None, bool] | None:
    """(price, compare_at, published) of a product's variants in a channel, or None when the
    product is not listed there. The rules are deterministic so the demo is reproducible:
    - every 11th product is not on the marketplace and every 13th not in the social shop;
    - every 17th product is listed but unpublished in the app;
    - marketplace prices are 8 % higher; the app is 5 % cheaper on every 7th product;
    - every 6th product is on sale (20 % off, compare-at = base) on web and app.
    """
    base = spec.base_price
    if code == "marketplace" and spec.index % 11 == 0:
        return None
    if code == "social" and spec.index % 13 == 0:
        return None
    price, compare_at = base, None
    if code == "marketplace":
        price = _round_retail(base * Decimal("1.08"))
    elif code == "app" and spec.index % 7 == 0:
        price = _round_retail(base * Decimal("0.95"))
    if code in ("web", "app") and spec.index % 6 == 0:
        price, compare_at = _round_retail(base * Decimal("0.80")), base
    published = not (code == "app" and spec.index % 17 == 0)
    return max(price, Decimal("0.99")), compare_at, published


@transaction.atomic
def load(command) -> None:
    out = command.stdout
    specs = build_specs()
    channels = list(Channel.objects.filter(code__in=DEMO_CHANNEL_CODES).order_by("code"))
    missing_channels = sorted(set(DEMO_CHANNEL_CODES) - {c.code for c in channels})
    if missing_channels:
        out.write(f"  channels missing, not listed there: {', '.join(missing_channels)}")

    # Categories, root first, so parents exist before children.
    categories = {c.slug: c for c in Category.objects.all()}
    for leaf in LEAVES:
        parent = None
        for depth, slug in enumerate(leaf.path):
            if slug not in categories:
                name = leaf.name if depth == len(leaf.path) - 1 else CATEGORY_NAMES[slug]
                categories[slug] = Category.objects.create(
                    name=name,
                    slug=slug,
                    parent=parent,
                    path=f"{parent.path if parent else ''}{slug}/",
                )
            parent = categories[slug]

    existing_products = set(Product.objects.values_list("slug", flat=True))
    new_products = [
        Product(
            name=spec.name,
            slug=spec.slug,
            description=spec.description,
            brand=spec.brand,
            category=categories[spec.leaf.path[-1]],
            attributes=spec.attributes,
            images=[
                f"https://images.example.com/products/{spec.slug}-1.jpg",
                f"https://images.example.com/products/{spec.slug}-2.jpg",
            ],
        )
        for spec in specs
        if spec.slug not in existing_products
    ]
    Product.objects.bulk_create(new_products, batch_size=500)
    product_ids = dict(
        Product.objects.filter(slug__in=[s.slug for s in specs]).values_list("slug", "id")
    )

    existing_skus = set(Variant.objects.values_list("sku", flat=True))
    new_variants = [
        Variant(
            product_id=product_ids[spec.slug],
            sku=v.sku,
            barcode=v.barcode,
            name=v.name,
            options=v.options,
            weight_grams=v.weight_grams,
        )
        for spec in specs
        for v in spec.variants
        if v.sku not in existing_skus
    ]
    Variant.objects.bulk_create(new_variants, batch_size=1000)
    variant_ids = dict(
        Variant.objects.filter(product_id__in=product_ids.values()).values_list("sku", "id")
    )

    existing_listings = set(
        Listing.objects.filter(variant_id__in=variant_ids.values()).values_list(
            "variant_id", "channel_id"
        )
    )
    new_listings = []
    for spec in tqdm(specs, desc="demo listings", unit="product", disable=None):
        for channel in channels:
            offer = channel_offer(spec, channel.code)
            if offer is None:
                continue
            price, compare_at, published = offer
            for v in spec.variants:
                key = (variant_ids[v.sku], channel.pk)
                if key in existing_listings:
                    continue
                new_listings.append(
                    Listing(
                        variant_id=key[0],
                        channel=channel,
                        price=money.quantize(price + v.price_delta, channel.currency),
                        compare_at_price=(
                            None
                            if compare_at is None
                            else money.quantize(compare_at + v.price_delta, channel.currency)
                        ),
                        currency=channel.currency,
                        published=published,
                    )
                )
    Listing.objects.bulk_create(new_listings, batch_size=2000)
    # Listings were inserted in bulk, outside the services: derive the storefront rows.
    channel_products_refresh(product_ids=product_ids.values())
    out.write(
        f"  catalog: {len(specs)} products ({len(new_products)} new), "
        f"{sum(len(s.variants) for s in specs)} variants ({len(new_variants)} new), "
        f"{len(new_listings)} new listings in {len(channels)} channels"
    )
