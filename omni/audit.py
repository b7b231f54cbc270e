"""The audit log of staff writes: record who changed which object's fields, before and after.

Write paths (admin save/delete/actions, staff API views) call `audit_record` after the change
succeeded, inside the same request; values are stored JSON-safe (Decimal and dates as strings,
related objects as their primary key).
"""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from omni.models import AuditAction, AuditEntry

# Never copied into the log, even as a hash.
SECRET_FIELDS = frozenset({"password", "hashed_secret"})


def audit_value(value: Any) -> Any:
    """A JSON-safe rendering of a field value (Decimal keeps its exact digits as a string)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        # Same amount, same text: 10.000 (as stored) and 10.00 (as typed) both read "10.00".
        text = format(value, "f")
        if "." in text:
            whole, fraction = text.split(".")
            fraction = fraction.rstrip("0").ljust(2, "0")
            text = f"{whole}.{fraction}"
        return text
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Mapping):
        return {str(k): audit_value(v) for k, v in value.items()}
    if isinstance(value, models.QuerySet):
        return sorted(obj.pk for obj in value)
    if isinstance(value, Iterable):
        items = list(value)
        if items and all(isinstance(v, models.Model) for v in items):
            return sorted(v.pk for v in items)  # a many-to-many value: a set of ids
        return [audit_value(v) for v in items]
    return str(value)


def audit_snapshot(instance: models.Model, fields: Sequence[str] | None = None) -> dict[str, Any]:
    """Concrete field values of `instance` (foreign keys as ids), for a before/after diff."""
    result = {}
    for field in instance._meta.concrete_fields:
        if (fields is not None and field.name not in fields) or field.name in SECRET_FIELDS:
            continue
        if getattr(field, "auto_now", False):
            continue  # bookkeeping, not a change staff made
        result[field.name] = audit_value(getattr(instance, field.attname))
    return result


def audit_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """`{field: [before, after]}` for every field whose JSON-safe value differs."""
    changes = {}
    for name in dict.fromkeys([*before, *after]):
        old = audit_value(before.get(name))
        new = audit_value(after.get(name))
        if old != new:
            changes[name] = [old, new]
    return changes


def _entry(
    *,
    user,
    instance: models.Model | None,
    model: type[models.Model] | None,
    object_id: Any,
    object_repr: str,
    action: str,
    changes: Mapping[str, Sequence[Any]] | None,
    operation: str,
    source: str,
) -> AuditEntry:
    model = model or type(instance)
    if instance is not None:
        object_id = instance.pk if object_id is None else object_id
        object_repr = object_repr or str(instance)
    authenticated = user is not None and getattr(user, "is_authenticated", False)
    return AuditEntry(
        user=user if authenticated and getattr(user, "pk", None) else None,
        username=(user.get_username() if authenticated else "")[:150],
        content_type=ContentType.objects.get_for_model(model, for_concrete_model=False),
        object_id=str(object_id)[:64],
        object_repr=object_repr[:200],
        action=action,
        operation=operation[:60],
        changes={name: [audit_value(v) for v in pair] for name, pair in (changes or {}).items()},
        source=source,
    )


def audit_record(
    *,
    user,
    action: str,
    instance: models.Model | None = None,
    model: type[models.Model] | None = None,
    object_id: Any = None,
    object_repr: str = "",
    changes: Mapping[str, Sequence[Any]] | None = None,
    operation: str = "",
    source: str = "admin",
) -> AuditEntry:
    """Record one staff write. `changes` is `{field: (before, after)}`; one INSERT (content
    types are cached by Django). Name the object by `instance`, or by `model` + `object_id`."""
    if instance is None and (model is None or object_id is None):
        raise ValueError("audit_record needs an instance, or a model and an object_id")
    entry = _entry(
        user=user,
        instance=instance,
        model=model,
        object_id=object_id,
        object_repr=object_repr,
        action=action,
        changes=changes,
        operation=operation,
        source=source,
    )
    entry.save()
    return entry


def audit_record_many(
    *,
    user,
    action: str,
    model: type[models.Model],
    items: Sequence[tuple[Any, str, Mapping[str, Sequence[Any]]]],
    operation: str = "",
    source: str = "admin",
) -> list[AuditEntry]:
    """Record one entry per `(object_id, object_repr, changes)` of `model` in one INSERT
    (bulk actions and bulk API writes)."""
    entries = [
        _entry(
            user=user,
            instance=None,
            model=model,
            object_id=object_id,
            object_repr=object_repr,
            action=action,
            changes=changes,
            operation=operation,
            source=source,
        )
        for object_id, object_repr, changes in items
    ]
    return AuditEntry.objects.bulk_create(entries)


def audit_scrub(*, model: type[models.Model], object_id: Any) -> int:
    """Blank the recorded values of one object's entries (who, when and which fields stay):
    personal data erased from a profile must not survive in its audit trail."""
    content_type = ContentType.objects.get_for_model(model, for_concrete_model=False)
    entries = list(
        AuditEntry.objects.filter(content_type=content_type, object_id=str(object_id)).only(
            "pk", "changes"
        )
    )
    for entry in entries:
        entry.changes = {name: ["[erased]", "[erased]"] for name in entry.changes}
        entry.object_repr = f"{model._meta.verbose_name} #{object_id}"
    AuditEntry.objects.bulk_update(entries, ["changes", "object_repr"])
    return len(entries)


def audit_form_changes(form) -> dict[str, list[Any]]:
    """`{field: [before, after]}` of a bound, valid ModelForm's changed fields."""
    changes = {}
    for name in form.changed_data:
        if name not in form.cleaned_data or name in SECRET_FIELDS or "password" in name:
            continue
        before = form.initial.get(name)
        after = form.cleaned_data.get(name)
        old, new = audit_value(before), audit_value(after)
        if old != new:
            changes[name] = [old, new]
    return changes


__all__ = [
    "AuditAction",
    "audit_diff",
    "audit_form_changes",
    "audit_record",
    "audit_record_many",
    "audit_scrub",
    "audit_snapshot",
    "audit_value",
]
