"""Admin integration of the audit log: every add, change (form, inlines, list_editable) and
delete made through an audited ModelAdmin writes audit entries with the changed fields' values
before and after. Admin actions that call services record their own entries (`audit_record`)."""

from django.contrib import admin

from omni.audit import AuditAction, audit_form_changes, audit_record, audit_snapshot


class AuditedAdminMixin:
    """Put first among a ModelAdmin's bases. The admin hands every saved form (and its inline
    formsets) to `construct_change_message` right before logging; the values are taken there."""

    def construct_change_message(self, request, form, formsets, add=False):
        request._audit_forms = (form, formsets or [])
        return super().construct_change_message(request, form, formsets, add)

    def _audit_save(self, request, obj, action: str) -> None:
        form, formsets = getattr(request, "_audit_forms", (None, []))
        request._audit_forms = (None, [])
        if form is not None:
            changes = audit_form_changes(form)
            if action == AuditAction.CREATE:
                changes = {
                    name: [None, value] for name, value in audit_snapshot(obj).items()
                    if value not in (None, "")
                }  # fmt: skip
            if changes or action == AuditAction.CREATE:
                audit_record(user=request.user, instance=obj, action=action, changes=changes)
        for formset in formsets:
            self._audit_formset(request, formset)

    def _audit_formset(self, request, formset) -> None:
        deleted = {id(o) for o in getattr(formset, "deleted_objects", [])}
        for inline_form in formset.forms:
            instance = inline_form.instance
            if not inline_form.has_changed() or instance.pk is None:
                continue
            if id(instance) in deleted or inline_form.cleaned_data.get("DELETE"):
                continue
            adding = not inline_form.initial or instance in getattr(formset, "new_objects", [])
            changes = audit_form_changes(inline_form)
            if changes:
                audit_record(
                    user=request.user,
                    instance=instance,
                    action=AuditAction.CREATE if adding else AuditAction.UPDATE,
                    changes=changes,
                )
        for instance in getattr(formset, "deleted_objects", []):
            audit_record(
                user=request.user,
                model=type(instance),
                object_id=instance.pk or "-",
                object_repr=str(instance),
                action=AuditAction.DELETE,
                changes={k: [v, None] for k, v in audit_snapshot(instance).items()},
            )

    def log_addition(self, request, obj, message):
        self._audit_save(request, obj, AuditAction.CREATE)
        return super().log_addition(request, obj, message)

    def log_change(self, request, obj, message):
        self._audit_save(request, obj, AuditAction.UPDATE)
        return super().log_change(request, obj, message)

    def log_deletions(self, request, queryset):
        # Called before the rows go: their last values are the audit's "before".
        for obj in queryset:
            audit_record(
                user=request.user,
                instance=obj,
                action=AuditAction.DELETE,
                changes={k: [v, None] for k, v in audit_snapshot(obj).items()},
            )
        return super().log_deletions(request, queryset)


class AuditedModelAdmin(AuditedAdminMixin, admin.ModelAdmin):
    pass
