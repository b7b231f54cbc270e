"""Merging duplicate profiles into a survivor, recorded so a merge can be undone."""

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import ManyToOneRel
from django.utils import timezone

from customers.errors import MergeRefused, UnmergeRefused
from customers.locks import customers_for_update
from customers.models import Customer, MergeRecord
from customers.profile_changes import profiles_changed
from customers.services.loyalty import tiers_refresh

# Relations that describe profiles or the audit trail rather than what a profile owns.
_KEEP = {
    ("customers.customer", "merged_into"),
    ("customers.mergerecord", "survivor"),
    ("customers.mergerecord", "merged"),
    ("customers.privacyrequest", "customer"),
}
_SURVIVOR_FIELDS = ["first_name", "last_name", "tags", "notes", "preferred_store_id"]


def movable_relations() -> list[tuple[str, type, str]]:
    """Every foreign key (of any app, hidden ones and M2M through tables included) that points at
    Customer and should follow a merge: (label, model, attname). Found through the model meta so
    apps that depend on customers (orders, ...) are covered without customers importing them."""
    relations = []
    for rel in Customer._meta.get_fields(include_hidden=True):
        if not isinstance(rel, ManyToOneRel) or rel.concrete:
            continue
        model = rel.related_model
        label = f"{model._meta.label_lower}.{rel.field.name}"
        if (model._meta.label_lower, rel.field.name) in _KEEP:
            continue
        relations.append((label, model, rel.field.attname))
    return sorted(relations, key=lambda item: item[0])


def _move(model, attname: str, pks: list[int], target_id: int) -> tuple[list[int], list[int]]:
    """Repoint rows to `target_id`; return (moved, kept). One UPDATE; row by row only when a
    unique constraint collides (e.g. both profiles in the same M2M), leaving those rows behind."""
    manager = model._base_manager
    try:
        with transaction.atomic():
            manager.filter(pk__in=pks).update(**{attname: target_id})
        return pks, []
    except IntegrityError:
        moved, kept = [], []
        for pk in pks:
            try:
                with transaction.atomic():
                    manager.filter(pk=pk).update(**{attname: target_id})
                moved.append(pk)
            except IntegrityError:
                kept.append(pk)
        return moved, kept


@transaction.atomic(durable=True)
def customer_merge(*, survivor: Customer, merged: Customer, user=None) -> MergeRecord:
    """Move everything that points at `merged` (identities, addresses, loyalty entries, spend,
    consents, cases, orders and any other app's rows) to `survivor`, fill the survivor's blank
    fields from it, mark `merged` as merged and record who, when and exactly which rows moved.

    Refused (409 `merge_refused`, reason in `reason`) for a profile into itself, an erased
    profile on either side, or a profile already merged. Locks both rows in pk order. The
    balances add up because the ledger entries move.
    """
    if survivor.pk == merged.pk:
        raise MergeRefused("A profile cannot be merged into itself.", reason="same_profile")
    locked = customers_for_update([survivor.pk, merged.pk])
    survivor, merged = locked[survivor.pk], locked[merged.pk]
    for customer in (survivor, merged):
        if customer.erased_at is not None:
            raise MergeRefused(
                f"Profile #{customer.pk} was erased; it cannot take part in a merge.",
                reason="erased",
            )
        if customer.merged_into_id is not None:
            raise MergeRefused(
                f"Profile #{customer.pk} is already merged into #{customer.merged_into_id}.",
                reason="already_merged",
            )
    before = {
        "first_name": survivor.first_name,
        "last_name": survivor.last_name,
        "tags": list(survivor.tags),
        "notes": survivor.notes,
        "preferred_store_id": survivor.preferred_store_id,
    }
    moved: dict[str, list[int]] = {}
    kept: dict[str, list[int]] = {}
    for label, model, attname in movable_relations():
        pks = list(model._base_manager.filter(**{attname: merged.pk}).values_list("pk", flat=True))
        if not pks:
            continue
        done, left = _move(model, attname, pks, survivor.pk)
        if done:
            moved[label] = done
        if left:
            kept[label] = left
    if not survivor.first_name and not survivor.last_name:
        survivor.first_name, survivor.last_name = merged.first_name, merged.last_name
    survivor.tags = sorted(set(survivor.tags) | set(merged.tags))
    if merged.notes and merged.notes not in survivor.notes:
        survivor.notes = f"{survivor.notes}\n{merged.notes}".strip()
    survivor.preferred_store_id = survivor.preferred_store_id or merged.preferred_store_id
    survivor.save(update_fields=["first_name", "last_name", "tags", "notes", "preferred_store"])
    merged.merged_into = survivor
    merged.merged_at = timezone.now()
    merged.save(update_fields=["merged_into", "merged_at"])
    record = MergeRecord.objects.create(
        survivor=survivor,
        merged=merged,
        merged_by=user if getattr(user, "pk", None) else None,
        moved=moved,
        survivor_before={**before, "kept_on_merged": kept},
    )
    tiers_refresh(customer_ids=[survivor.pk, merged.pk])
    profiles_changed([survivor.pk, merged.pk])
    # A transaction that resolved the merged profile before this merge committed may still add
    # rows to it (an order placed at that very moment); a sweep after commit moves them too.
    transaction.on_commit(lambda: _schedule_sweep(record.pk))
    return record


def _schedule_sweep(record_id: int) -> None:
    from customers.tasks import customer_merge_sweep_task

    customer_merge_sweep_task.apply_async(args=[record_id], countdown=30)


@transaction.atomic(durable=True)
def customer_merge_sweep(*, record: MergeRecord) -> int:
    """Move rows that reached the merged profile after its merge (written by transactions that
    still saw it live) to the survivor, adding them to the record so unmerge covers them.
    Nothing to do once undone. Locks both profiles in pk order, then the record."""
    locked = customers_for_update([record.survivor_id, record.merged_id])
    record = MergeRecord.objects.select_for_update().get(pk=record.pk)
    survivor, merged = locked[record.survivor_id], locked[record.merged_id]
    if record.undone_at is not None or merged.merged_into_id != survivor.pk:
        return 0
    moved = {label: list(pks) for label, pks in record.moved.items()}
    count = 0
    for label, model, attname in movable_relations():
        pks = list(model._base_manager.filter(**{attname: merged.pk}).values_list("pk", flat=True))
        if not pks:
            continue
        done, _ = _move(model, attname, pks, survivor.pk)
        if done:
            moved[label] = sorted(set(moved.get(label, [])) | set(done))
            count += len(done)
    if count:
        record.moved = moved
        record.save(update_fields=["moved"])
        tiers_refresh(customer_ids=[survivor.pk])
        profiles_changed([survivor.pk, merged.pk])
    return count


@transaction.atomic(durable=True)
def customer_unmerge(*, record: MergeRecord, user=None) -> MergeRecord:
    """Undo a merge: the rows that moved go back to the merged profile (those still on the
    survivor), the survivor's fields are restored and the merged profile is live again.
    Refused (409 `unmerge_refused`) when already undone, or when either profile was erased or
    the survivor was itself merged since. Locks both profiles in pk order, then the record."""
    locked = customers_for_update([record.survivor_id, record.merged_id])
    record = MergeRecord.objects.select_for_update().get(pk=record.pk)
    survivor, merged = locked[record.survivor_id], locked[record.merged_id]
    if record.undone_at is not None:
        raise UnmergeRefused("This merge was already undone.", reason="already_undone")
    if survivor.erased_at is not None or merged.erased_at is not None:
        raise UnmergeRefused("A profile of this merge was erased.", reason="erased")
    if survivor.merged_into_id is not None:
        raise UnmergeRefused(
            f"The survivor was merged into #{survivor.merged_into_id} since; undo that first.",
            reason="superseded",
        )
    if merged.merged_into_id != survivor.pk:
        raise UnmergeRefused("The merged profile is no longer merged here.", reason="superseded")
    for label, pks in record.moved.items():
        model_label, field_name = label.rsplit(".", 1)
        model = apps.get_model(model_label)
        attname = model._meta.get_field(field_name).attname
        model._base_manager.filter(pk__in=pks, **{attname: survivor.pk}).update(
            **{attname: merged.pk}
        )
    before = record.survivor_before
    for name in _SURVIVOR_FIELDS:
        setattr(survivor, name, before.get(name, getattr(survivor, name)))
    survivor.save(update_fields=["first_name", "last_name", "tags", "notes", "preferred_store"])
    merged.merged_into = None
    merged.merged_at = None
    merged.save(update_fields=["merged_into", "merged_at"])
    record.undone_at = timezone.now()
    record.undone_by = user if getattr(user, "pk", None) else None
    record.save(update_fields=["undone_at", "undone_by"])
    tiers_refresh(customer_ids=[survivor.pk, merged.pk])
    profiles_changed([survivor.pk, merged.pk])
    return record
