"""PostgreSQL backend that starts the embedded server before its first connection."""

from django.db.backends.postgresql import base

from .server import embedded_postgres


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        server = embedded_postgres(self.settings_dict["EMBEDDED_DATA_DIR"])
        self.settings_dict.update(server)
        return super().get_connection_params()
