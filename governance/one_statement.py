"""Several new rows in one INSERT statement (PostgreSQL): one round trip instead of one per row.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, models

from governance import prepared_sql

_templates: dict[type[models.Model], tuple[str, list[tuple[models.Field, bool]]]] = {}


def supported() -> bool:
    return connection.vendor == "postgresql"


def sequence_calls(models_in_order: Sequence[type[models.Model]]) -> tuple[str, list[str]]:
    """SQL select-list items drawing one id per model listed (repeat a model for several rows),
    and their parameters."""
    params = []
    for model in models_in_order:
        meta = model._meta.concrete_model._meta
        params += [meta.db_table, meta.pk.column]
    return ", ".join(["nextval(pg_get_serial_sequence(%s, %s))"] * len(models_in_order)), params


def _template(model: type[models.Model]) -> tuple[str, list[tuple[models.Field, bool]]]:
    """The statement's head for `model`, and its fields, each with whether its pre_save does more than
    read the attribute (auto_now, files)."""
    concrete = model._meta.concrete_model
    if concrete not in _templates:
        fields = list(concrete._meta.concrete_fields)
        quote = connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in fields)
        _templates[concrete] = (f"INSERT INTO {quote(concrete._meta.db_table)} ({columns}) VALUES ",
                                [(field, type(field).pre_save is not models.Field.pre_save) for field in fields])
    return _templates[concrete]


def _values(instance: models.Model, fields: list[tuple[models.Field, bool]]) -> tuple[str, list]:
    placeholders, params = [], []
    for field, own_pre_save in fields:
        value = field.pre_save(instance, add=True) if own_pre_save else getattr(instance, field.attname)
        value = field.get_db_prep_save(value, connection=connection)
        placeholder = field.get_placeholder(value, None, connection) if hasattr(field, "get_placeholder") else "%s"
        placeholders.append(placeholder)
        params.append(value)
    return f"({', '.join(placeholders)})", params


def insert_rows(instances: Iterable[models.Model], *, then: tuple[str, list] | None = None,
                also: Iterable[tuple[str, list]] = ()) -> None:
    """INSERT every instance (each with its primary key already set) in one statement; `also` are
    further data-modifying statements run in the same one (e.g. counters kept beside the rows), and
    `then` is the final one (e.g. moving the audit chain's head)."""
    instances = list(instances)
    parts, params = [], []
    for number, instance in enumerate(instances):
        if instance.pk is None:
            raise ValueError(f"{type(instance).__name__}: insert_rows needs the id drawn first (sequence_calls)")
        head, fields = _template(type(instance))
        values, values_params = _values(instance, fields)
        parts.append(f"r{number} AS ({head}{values})")
        params.extend(values_params)
    for number, (sql, sql_params) in enumerate(also):
        parts.append(f"a{number} AS ({sql})")
        params.extend(sql_params)
    final_sql, final_params = then or ("SELECT 1", [])
    prepared_sql.execute(f"WITH {', '.join(parts)} {final_sql}", [*params, *final_params])
    for instance in instances:
        instance._state.adding, instance._state.db = False, connection.alias
