from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analytics", "0006_request_attribution"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelprice",
            name="flex_input_per_mtok",
            field=models.DecimalField(blank=True, decimal_places=4, max_digits=10, null=True),
        ),
        migrations.AddField(
            model_name="modelprice",
            name="flex_output_per_mtok",
            field=models.DecimalField(blank=True, decimal_places=4, max_digits=10, null=True),
        ),
        migrations.AddField(
            model_name="modelprice",
            name="flex_cached_input_per_mtok",
            field=models.DecimalField(blank=True, decimal_places=4, max_digits=10, null=True),
        ),
        migrations.AddField(
            model_name="requestlog",
            name="tier",
            field=models.CharField(
                blank=True, help_text="the provider tier that answered: flex or standard", max_length=10
            ),
        ),
    ]
