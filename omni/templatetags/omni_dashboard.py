"""Template tags of the staff admin: the home page's panels and the audit trail link."""

from urllib.parse import urlencode

from django import template
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from omni import dashboard

register = template.Library()


@register.simple_tag(takes_context=True)
def dashboard_panels(context):
    request = context.get("request")
    if request is None or not request.user.is_authenticated:
        return []
    return dashboard.dashboard_panels(request)


@register.simple_tag
def dashboard_scripts(panels):
    return dashboard.panel_scripts(panels)


@register.simple_tag(takes_context=True)
def audit_trail_url(context, obj) -> str:
    """The audit log filtered to `obj`, for users who may read the log ("" otherwise)."""
    request = context.get("request")
    if obj is None or request is None or not request.user.has_perm("omni.view_auditentry"):
        return ""
    content_type = ContentType.objects.get_for_model(obj, for_concrete_model=False)
    query = urlencode({"content_type__id__exact": content_type.pk, "object_id": obj.pk})
    return f"{reverse('admin:omni_auditentry_changelist')}?{query}"
