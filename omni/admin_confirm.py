"""A confirmation page before a bulk admin action changes anything.

`@confirm_action("Cancel these orders?")` on an admin action: the first POST (from the action
bar) renders a page listing the selected objects with Confirm / Go back; only the confirmed POST
runs the action. Nothing is changed until then.
"""

from __future__ import annotations

import functools

from django.contrib.admin import helpers
from django.template.response import TemplateResponse

CONFIRM_FIELD = "confirm_action"
SHOWN = 50


def confirm_action(question: str, *, danger: bool = False):
    def decorate(action):
        @functools.wraps(action)
        def wrapper(modeladmin, request, queryset):
            if request.POST.get(CONFIRM_FIELD) == "yes":
                return action(modeladmin, request, queryset)
            count = queryset.count()
            context = {
                **modeladmin.admin_site.each_context(request),
                "title": question,
                "question": question,
                "danger": danger,
                "opts": modeladmin.model._meta,
                "objects": list(queryset[:SHOWN]),
                "count": count,
                "more": max(0, count - SHOWN),
                "action": request.POST.get("action", action.__name__),
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "select_across": request.POST.get("select_across", "0"),
                "index": request.POST.get("index", "0"),
                "extra": {
                    key: request.POST.get(key)
                    for key in request.POST
                    if key
                    not in {
                        "csrfmiddlewaretoken",
                        "action",
                        "select_across",
                        "index",
                        helpers.ACTION_CHECKBOX_NAME,
                        CONFIRM_FIELD,
                    }
                },
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "confirm_field": CONFIRM_FIELD,
            }
            return TemplateResponse(request, "admin/omni/confirm_action.html", context)

        return wrapper

    return decorate
