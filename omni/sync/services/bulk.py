"""Plain multi-row INSERTs for the high-volume rows of a feed run (drifts, rejections):
no model instance per row, which is what makes Django's bulk_create slow at feed sizes."""

from collections.abc import Sequence

from django.db import connection

CHUNK = 2000


def insert_rows(model, fields: Sequence[str], rows: Sequence[tuple]) -> None:
    """INSERT `rows` (tuples in `fields` order, column names) into `model`'s table."""
    if not rows:
        return
    table = model._meta.db_table
    columns = ", ".join(model._meta.get_field(name).column for name in fields)
    template = "(" + ", ".join(["%s"] * len(fields)) + ")"
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({columns}) VALUES {', '.join([template] * len(chunk))}",
                [value for row in chunk for value in row],
            )
