"""Resolution: orders from every channel attach to the profile owning a matching identity."""

import pytest

from customers.errors import CustomerError
from customers.models import Customer, Identity, IdentityKind
from customers.services import customer_resolve, identity_add
from omni.errors import InvalidInput

pytestmark = pytest.mark.django_db


def test_no_identity_resolves_to_nobody(channel):
    assert customer_resolve(channel=channel, first_name="Ada") is None
    assert Customer.objects.count() == 0


def test_new_email_creates_a_profile_with_normalised_identity(channel):
    customer = customer_resolve(channel=channel, email=" Ada@Example.COM ", first_name="Ada")
    identity = customer.identities.get()
    assert (identity.kind, identity.value, identity.raw_value) == (
        "email",
        "ada@example.com",
        "Ada@Example.COM",
    )
    assert identity.channel == channel
    assert customer.first_name == "Ada"
    assert customer.last_seen_at is not None


def test_same_email_from_another_channel_attaches_to_the_same_profile(channel, store):
    web = customer_resolve(channel=channel, email="ada@example.com")
    in_store = customer_resolve(channel=store, email="ADA@example.com", phone="020 7946 0018")
    assert in_store.pk == web.pk
    assert Customer.objects.count() == 1
    phone = web.identities.get(kind=IdentityKind.PHONE)
    assert phone.value == "+442079460018"
    assert phone.channel == store


def test_phone_in_channel_format_matches_international_form(channel, store):
    first = customer_resolve(channel=store, phone="020 7946 0018")
    second = customer_resolve(channel=channel, phone="+44 20 7946 0018")
    assert first.pk == second.pk


def test_account_ids_are_scoped_to_their_channel(channel, store):
    web = customer_resolve(channel=channel, account_id="u-1")
    other = customer_resolve(channel=store, account_id="u-1")
    assert web.pk != other.pk
    assert customer_resolve(channel=channel, account_id="u-1").pk == web.pk


def test_names_alone_never_match(channel):
    first = customer_resolve(channel=channel, email="a@example.com", first_name="Ada")
    second = customer_resolve(channel=channel, email="b@example.com", first_name="Ada")
    assert first.pk != second.pk


def test_conflicting_identities_leave_the_other_profile_untouched(channel):
    by_email = customer_resolve(channel=channel, email="ada@example.com")
    by_phone = customer_resolve(channel=channel, phone="+14155552671")
    chosen = customer_resolve(channel=channel, email="ada@example.com", phone="+14155552671")
    assert chosen.pk == by_email.pk
    assert Identity.objects.get(kind="phone").customer_id == by_phone.pk


def test_blank_names_are_filled_but_known_names_kept(channel):
    customer = customer_resolve(channel=channel, email="ada@example.com")
    customer_resolve(channel=channel, email="ada@example.com", first_name="Ada", last_name="L")
    customer_resolve(channel=channel, email="ada@example.com", first_name="Eve")
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name) == ("Ada", "L")


@pytest.mark.parametrize(
    ("kwargs", "field", "code"),
    [
        ({"email": "not-an-email"}, "email", "invalid_email"),
        ({"email": "ok@example.com", "phone": "12"}, "phone", "invalid_phone"),
    ],
)
def test_malformed_input_writes_nothing(channel, kwargs, field, code):
    with pytest.raises(InvalidInput) as caught:
        customer_resolve(channel=channel, **kwargs)
    assert (caught.value.field, caught.value.code) == (field, code)
    assert Customer.objects.count() == 0


def test_resolve_costs_a_fixed_number_of_queries(channel, django_assert_max_num_queries):
    customer_resolve(channel=channel, email="ada@example.com")
    with django_assert_max_num_queries(5):
        customer_resolve(channel=channel, email="ada@example.com", phone="+14155552671")


def test_identity_add_refuses_an_identity_of_another_profile(channel):
    ada = customer_resolve(channel=channel, email="ada@example.com")
    eve = customer_resolve(channel=channel, email="eve@example.com")
    with pytest.raises(CustomerError) as caught:
        identity_add(customer=eve, kind="email", value="ADA@example.com")
    assert caught.value.code == "identity_taken"
    assert identity_add(customer=ada, kind="email", value="ada@example.com").customer_id == ada.pk
    card = identity_add(customer=eve, kind="loyalty_card", value="ab 12")
    assert card.value == "AB12"


def test_a_known_shopper_is_returned_fully_loaded_and_touched(channel, django_assert_num_queries):
    first = customer_resolve(channel=channel, email="ada@example.com")
    Customer.objects.filter(pk=first.pk).update(
        tags=["vip", "press"], tier_code="gold", tier_spend="120.50", segment="champions"
    )
    with django_assert_num_queries(2):  # the lookup and the touch: no savepoint, no insert
        again = customer_resolve(channel=channel, email="ADA@example.com", first_name="Ada")
    assert again.pk == first.pk
    assert again.tags == ["vip", "press"]
    assert (again.tier_code, again.segment) == ("gold", "champions")
    assert str(again.tier_spend) == "120.50"
    assert again.created_at == first.created_at
    stored = Customer.objects.get(pk=first.pk)
    assert stored.first_name == "Ada"
    assert stored.last_seen_at == again.last_seen_at > first.last_seen_at
