from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_profile_and_invitation"),
    ]

    operations = [
        migrations.AddField(
            model_name="workspacesettings",
            name="tier",
            field=models.CharField(
                choices=[("standard", "Standard"), ("flex", "Flex")], default="standard", max_length=10
            ),
        ),
    ]
