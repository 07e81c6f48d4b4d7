from django.apps import AppConfig


class CachestoreConfig(AppConfig):
    name = "cachestore"
