"""Admin forms and session-authenticated API writes need the CSRF token: a forged cross-site
POST from a logged-in staff member's browser changes nothing."""

import pytest
from django.test import Client

from omni.models import Channel
from tests.staff.admin_forms import admin_post_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(admin_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    return client


def test_admin_change_form_without_token_is_refused(browser, channel):
    url = f"/admin/omni/channel/{channel.pk}/change/"
    page = browser.get(url)
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    forged = browser.post(
        url, {"code": "web", "name": "Hijacked", "kind": "web", "currency": "USD"}
    )
    assert forged.status_code == 403
    assert Channel.objects.get(pk=channel.pk).name == "Web shop"


def test_admin_action_and_delete_without_token_are_refused(browser, channel):
    action = browser.post(
        "/admin/omni/channel/",
        {"action": "delete_selected", "_selected_action": [channel.pk], "post": "yes"},
    )
    assert action.status_code == 403
    delete = browser.post(f"/admin/omni/channel/{channel.pk}/delete/", {"post": "yes"})
    assert delete.status_code == 403
    assert Channel.objects.filter(pk=channel.pk).exists()


def test_admin_login_form_needs_the_token(admin_user):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/admin/login/", {"username": "admin", "password": "password"})
    assert response.status_code == 403


def test_session_authenticated_api_write_needs_the_token(browser, channel):
    forged = browser.post(
        "/api/v1/channels/", {"code": "evil", "name": "Evil", "kind": "web", "currency": "USD"}
    )
    assert forged.status_code == 403
    assert not Channel.objects.filter(code="evil").exists()


def test_with_the_token_the_same_admin_post_goes_through(browser, channel):
    url = f"/admin/omni/channel/{channel.pk}/change/"
    page = browser.get(url)
    token = page.context["csrf_token"]
    data = admin_post_data(page, name="Web shop renamed")
    data["csrfmiddlewaretoken"] = str(token)
    response = browser.post(url, data)
    assert response.status_code == 302, response.content[:500]
    assert Channel.objects.get(pk=channel.pk).name == "Web shop renamed"
