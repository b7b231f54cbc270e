"""Fast multi-row inserts for rebuilds and demo history: rows as tuples, each column adapted
once per value by the database backend, sent with `executemany` (no model instances)."""

from collections.abc import Callable, Iterable, Sequence
from itertools import islice

from django.core.management.color import no_style
from django.db import connection, models


def _converter(field: models.Field) -> Callable:
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    if isinstance(field, models.DecimalField):
        return lambda v: ops.adapt_decimalfield_value(v, field.max_digits, field.decimal_places)
    if isinstance(field, models.UUIDField | models.JSONField):
        return lambda v: field.get_db_prep_save(v, connection)
    return lambda v: v


def rows_insert(
    model, columns: Sequence[str], rows: Iterable[Sequence], *, batch_size: int = 5000
) -> int:
    """INSERT `rows` (tuples in `columns` order; field names or attnames) into `model`'s
    table. Returns the number of rows sent."""
    fields = [model._meta.get_field(name) for name in columns]
    converters = [_converter(f) for f in fields]
    quote = connection.ops.quote_name
    sql = "INSERT INTO {} ({}) VALUES ({})".format(
        quote(model._meta.db_table),
        ", ".join(quote(f.column) for f in fields),
        ", ".join(["%s"] * len(fields)),
    )
    count = 0
    iterator = iter(rows)
    with connection.cursor() as cursor:
        while batch := list(islice(iterator, batch_size)):
            values = [
                tuple(None if v is None else c(v) for c, v in zip(converters, row, strict=True))
                for row in batch
            ]
            if connection.vendor == "postgresql":
                # One multi-row INSERT per page instead of a round trip per row.
                from psycopg2.extras import execute_values

                head = sql.split(" VALUES ")[0]
                execute_values(cursor.cursor, f"{head} VALUES %s", values, page_size=1000)
            else:
                cursor.executemany(sql, values)
            count += len(batch)
    return count


def sequences_reset(*models_) -> None:
    """Move primary-key sequences past rows inserted with explicit ids (PostgreSQL)."""
    statements = connection.ops.sequence_reset_sql(no_style(), list(models_))
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


def next_id(model) -> int:
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


def model_rows_insert(model, rows: Iterable[dict], *, batch_size: int = 5000) -> int:
    """Insert rows given as {attname: value} dicts; every other column takes the model's
    default (read once from an unsaved instance), so columns added to the model later keep
    working. Rows must carry their primary key."""
    fields = list(model._meta.concrete_fields)
    names = [f.attname for f in fields]
    proto = model()
    base = {name: getattr(proto, name) for name in names}
    known = set(names)

    def tuples():
        for row in rows:
            unknown = row.keys() - known
            if unknown:
                raise ValueError(f"{model.__name__} has no column {sorted(unknown)[0]!r}")
            values = {**base, **row}
            yield tuple(values[name] for name in names)

    return rows_insert(model, names, tuples(), batch_size=batch_size)
