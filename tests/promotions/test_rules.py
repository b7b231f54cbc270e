"""The rule snapshot's target index finds exactly the rules `Rule.matches` would."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from promotions.rules import LineFacts, Rule, Snapshot

PATHS = ["a/", "a/b/", "a/b/c/", "ab/", "x/"]
BRANDS = ["Acme", "Stride", ""]


def rule(n, variants, products, paths, brands):
    return Rule(
        id=n, name=f"r{n}", kind="catalogue", discount_type="percent", value=Decimal(1),
        trigger="automatic", starts_at=None, ends_at=None, priority=n % 3, exclusive=False,
        min_spend=Decimal(0), buy_quantity=0, get_quantity=0, bundle_quantity=0,
        bundle_price=Decimal(0), product_ids=frozenset(products), variant_ids=frozenset(variants),
        category_paths=tuple(paths), brands=frozenset(b for b in brands if b), tiers=frozenset(),
        segments=frozenset(),
    )  # fmt: skip


ids = st.sets(st.integers(1, 6), max_size=2)
rules = st.lists(
    st.tuples(ids, ids, st.sets(st.sampled_from(PATHS), max_size=2),
              st.sets(st.sampled_from(BRANDS), max_size=1)),
    max_size=12,
)  # fmt: skip
lines = st.builds(
    LineFacts,
    variant_id=st.integers(1, 6),
    product_id=st.integers(1, 6),
    category_path=st.sampled_from([*PATHS, ""]),
    brand=st.sampled_from(BRANDS),
)


@given(specs=rules, line=lines)
def test_index_agrees_with_matches(specs, line):
    built = [rule(n, *spec) for n, spec in enumerate(specs, start=1)]
    snapshot = Snapshot(tuple(built))
    assert snapshot.rule_ids_for(line) == {r.id for r in built if r.matches(line)}
