"""Merge moves everything to the survivor, keeps balances, is recorded and can be undone."""

from decimal import Decimal

import pytest

from customers.errors import MergeRefused, UnmergeRefused
from customers.models import Address, ConsentRecord, Customer, Identity, LoyaltyEntry, MergeRecord
from customers.selectors import duplicate_candidates, loyalty_balance
from customers.services import (
    case_open,
    consent_record,
    customer_erase,
    customer_merge,
    customer_merge_sweep,
    customer_resolve,
    customer_unmerge,
    identity_add,
    loyalty_earn,
    loyalty_redeem,
)
from customers.services.merge import movable_relations
from tests.customers.factories import AddressFactory, CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(channel, store):
    survivor = customer_resolve(channel=channel, email="ada@example.com", first_name="Ada")
    merged = customer_resolve(
        channel=store, email="a.lovelace@example.com", phone="020 7946 0018", last_name="Lovelace"
    )
    loyalty_earn(
        customer=survivor,
        channel=channel,
        amount=Decimal("100"),
        idempotency_key="e-1",
        reference="W-1",
    )
    loyalty_earn(
        customer=merged, channel=store, amount=Decimal("40"), idempotency_key="e-2", reference="S-1"
    )
    AddressFactory(customer=merged, postcode="N1 9GU")
    consent_record(customer=merged, purpose="sms", granted=True, channel=store)
    case_open(customer=merged, kind="inquiry", subject="Where is my order?", channel=store)
    return survivor, merged


def test_merge_moves_everything_and_keeps_balances(pair, admin_user):
    survivor, merged = pair
    record = customer_merge(survivor=survivor, merged=merged, user=admin_user)
    assert loyalty_balance(customer=survivor) == 140
    assert loyalty_balance(customer=merged) == 0
    assert set(Identity.objects.values_list("customer_id", flat=True)) == {survivor.pk}
    assert survivor.identities.count() == 3
    assert Address.objects.get().customer_id == survivor.pk
    assert ConsentRecord.objects.get().customer_id == survivor.pk
    assert survivor.cases.count() == 1
    merged.refresh_from_db()
    survivor.refresh_from_db()
    assert merged.merged_into_id == survivor.pk
    assert (survivor.first_name, survivor.last_name) == ("Ada", "")
    assert record.merged_by == admin_user
    # 2 identities, a loyalty entry, a spend record, an address, a consent, a case
    assert record.moved_count == 7
    assert record.moved["customers.identity.customer"]


def test_orders_from_either_channel_resolve_to_the_survivor_after_merge(pair, channel):
    survivor, merged = pair
    customer_merge(survivor=survivor, merged=merged)
    assert customer_resolve(channel=channel, phone="+44 20 7946 0018").pk == survivor.pk


def test_stale_merged_profile_redeems_from_the_survivor(pair):
    survivor, merged = pair
    customer_merge(survivor=survivor, merged=merged)
    entry = loyalty_redeem(customer=merged, points=120, idempotency_key="r", reference="W-9")
    assert entry.customer_id == survivor.pk
    assert loyalty_balance(customer=survivor) == 20


def test_unmerge_restores_what_moved(pair, admin_user):
    survivor, merged = pair
    record = customer_merge(survivor=survivor, merged=merged)
    added_after = identity_add(customer=survivor, kind="email", value="new@example.com")
    customer_unmerge(record=record, user=admin_user)
    added_after.refresh_from_db()
    assert added_after.customer_id == survivor.pk
    assert loyalty_balance(customer=survivor) == 100
    assert loyalty_balance(customer=merged) == 40
    assert set(merged.identities.values_list("value", flat=True)) == {
        "a.lovelace@example.com",
        "+442079460018",
    }
    merged.refresh_from_db()
    assert merged.merged_into_id is None
    record.refresh_from_db()
    assert record.undone_by == admin_user
    with pytest.raises(UnmergeRefused):
        customer_unmerge(record=record)


def test_merge_into_itself_is_refused(customer):
    with pytest.raises(MergeRefused) as caught:
        customer_merge(survivor=customer, merged=customer)
    assert caught.value.status_code == 409


def test_merge_into_an_erased_profile_is_refused(pair):
    survivor, merged = pair
    customer_erase(customer=survivor)
    with pytest.raises(MergeRefused) as caught:
        customer_merge(survivor=survivor, merged=merged)
    assert caught.value.extra["reason"] == "erased"
    assert MergeRecord.objects.count() == 0
    assert LoyaltyEntry.objects.filter(customer=merged).count() == 1


def test_merging_an_already_merged_profile_is_refused(pair):
    survivor, merged = pair
    customer_merge(survivor=survivor, merged=merged)
    other = CustomerFactory()
    with pytest.raises(MergeRefused):
        customer_merge(survivor=other, merged=merged)


def test_movable_relations_cover_every_fk_but_the_audit():
    labels = {label for label, _, _ in movable_relations()}
    assert "customers.identity.customer" in labels
    assert "customers.loyaltyentry.customer" in labels
    assert "customers.mergerecord.survivor" not in labels
    assert "customers.customer.merged_into" not in labels


def test_duplicate_candidates_find_email_variants_and_name_postcode(channel):
    a = customer_resolve(channel=channel, email="ada.lovelace@gmail.com")
    b = customer_resolve(channel=channel, email="adalovelace+shop@gmail.com")
    c = CustomerFactory(first_name="Grace", last_name="Hopper")
    d = CustomerFactory(first_name="grace", last_name="HOPPER")
    AddressFactory(customer=c, postcode="10001")
    AddressFactory(customer=d, postcode="10001")
    customer_resolve(channel=channel, email="someone@else.com")
    groups = {(g["reason"], tuple(g["customer_ids"])) for g in duplicate_candidates()}
    assert ("email_variant", tuple(sorted([a.pk, b.pk]))) in groups
    assert ("name_postcode", tuple(sorted([c.pk, d.pk]))) in groups
    assert len(groups) == 2
    customer_merge(survivor=a, merged=b)
    assert all(g["reason"] != "email_variant" for g in duplicate_candidates())
    assert Customer.objects.live().count() == 4


def test_rows_reaching_the_merged_profile_late_are_swept_and_unmerged(pair):
    survivor, merged = pair
    record = customer_merge(survivor=survivor, merged=merged)
    # written by a transaction that still saw `merged` live
    late = ConsentRecord.objects.create(
        customer=merged, purpose="personalisation", granted=True, recorded_at=merged.created_at
    )
    assert customer_merge_sweep(record=record) == 1
    late.refresh_from_db()
    assert late.customer_id == survivor.pk
    record.refresh_from_db()
    assert late.pk in record.moved["customers.consentrecord.customer"]
    customer_unmerge(record=record)
    late.refresh_from_db()
    assert late.customer_id == merged.pk
    assert customer_merge_sweep(record=record) == 0
