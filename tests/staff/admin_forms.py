"""Build a POST for an admin change form from the GET response (main form and inlines)."""


def _form_data(form) -> dict:
    data = {}
    for name, field in form.fields.items():
        bound = form[name]
        value = bound.value()
        key = bound.html_name
        if field.disabled:
            continue
        if isinstance(value, bool):
            if value:
                data[key] = "on"
            continue
        if isinstance(value, list | tuple):
            data[key] = [("" if v is None else str(v)) for v in value]
            continue
        data[key] = "" if value is None else str(value)
    return data


def admin_post_data(response, **changes) -> dict:
    """The change form's current values (inline formsets included) with `changes` applied."""
    context = response.context
    data = _form_data(context["adminform"].form)
    for inline in context.get("inline_admin_formsets", []):
        formset = inline.formset
        management = formset.management_form
        data.update({management[k].html_name: str(v) for k, v in management.initial.items()})
        data[f"{formset.prefix}-TOTAL_FORMS"] = str(len(formset.initial_forms))
        for form in formset.initial_forms:
            data.update(_form_data(form))
    data.update(changes)
    return data
