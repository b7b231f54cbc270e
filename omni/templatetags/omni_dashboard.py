"""`{% dashboard_panels as panels %}` for the admin home page."""

from django import template

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
