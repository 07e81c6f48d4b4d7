from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    """Create pgvector's extension before any model uses a vector column."""

    initial = True
    dependencies = []
    operations = [VectorExtension()]
