"""Many new rows in one COPY: what the request-log writer sends every second under load.

`bulk_create` builds one INSERT with a placeholder per value (some 15,000 for 500 log rows) that
Django assembles and psycopg then parses back, all in Python: at 2,000 requests/s that was a
quarter of a core, in bursts that held the interpreter while requests waited. COPY takes the
values as they are, and psycopg's C implementation formats them.
"""

from django.db import DEFAULT_DB_ALIAS, connections


def insert_by_copy(model, rows):
    """Insert `rows` (unsaved instances of `model`) with COPY; primary keys are not read back."""
    # The connection itself, not django.db.connection: that proxy looks the thread's up on every use.
    connection = connections[DEFAULT_DB_ALIAS]
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    statement = f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN"
    # COPY goes past Django's cursor wrapper: its errors are made Django's here (DataError for a
    # refused value, OperationalError for a lost server), as an INSERT's would be.
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row([field.get_db_prep_save(field.pre_save(row, True), connection) for field in fields])
