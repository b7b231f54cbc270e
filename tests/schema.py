"""What the database keeps for a model's table, read back for the tests that pin which indexes
a hot table pays for on every write."""

from django.db import connection


def indexes(model) -> dict[str, dict]:
    """The table's indexes by name, the ones backing unique constraints included (introspection
    lists those apart) and its primary key left out."""
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return {
        name: info
        for name, info in constraints.items()
        if (info["index"] or info["unique"]) and not info["primary_key"]
    }


def index_columns(model) -> list[list[str]]:
    """The column list of each of `indexes(model)`, sorted."""
    return sorted(info["columns"] for info in indexes(model).values())
