# The record of sent occasions (EmailSent) becomes the outbox that a Celery task delivers through
# Resend. Its rows were sent through Django's email backend before this migration: they stay, as
# sent, so that no occasion they name is emailed again.

import uuid

import django.utils.timezone
from django.db import migrations, models


def give_each_row_a_delivery_key(apps, schema_editor):
    # AddField computes a callable default once for every existing row; a unique column needs one each.
    OutboundEmail = apps.get_model("accounts", "OutboundEmail")
    for email in OutboundEmail.objects.only("pk").iterator():
        OutboundEmail.objects.filter(pk=email.pk).update(delivery_key=uuid.uuid4())


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0007_email_sent"),
    ]

    operations = [
        migrations.RenameModel("EmailSent", "OutboundEmail"),
        migrations.AddField(
            model_name="outboundemail",
            name="status",
            field=models.CharField(
                choices=[("queued", "Queued"), ("sent", "Sent"), ("logged", "Logged"), ("failed", "Failed")],
                default="sent",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="outboundemail",
            name="status",
            field=models.CharField(
                choices=[("queued", "Queued"), ("sent", "Sent"), ("logged", "Logged"), ("failed", "Failed")],
                default="queued",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="delivery_key",
            field=models.UUIDField(null=True, editable=False),
        ),
        migrations.RunPython(give_each_row_a_delivery_key, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="outboundemail",
            name="delivery_key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="template",
            field=models.CharField(default="", max_length=100),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="to",
            field=models.EmailField(default="", max_length=254),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="subject",
            field=models.CharField(default="", max_length=300),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="text_body",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="html_body",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="attempts",
            field=models.PositiveIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="claimed_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="provider_id",
            field=models.CharField(blank=True, help_text="Resend's id of the email", max_length=100),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="error",
            field=models.CharField(blank=True, max_length=300),
        ),
        migrations.AddField(
            model_name="outboundemail",
            name="sent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterModelOptions(name="outboundemail", options={"ordering": ["-created_at"]}),
        migrations.AddIndex(
            model_name="outboundemail",
            index=models.Index(fields=["status", "created_at"], name="outboundemail_status_created"),
        ),
        migrations.AddField(
            model_name="workspace",
            name="deletion_contacts",
            field=models.JSONField(blank=True, default=list, editable=False),
        ),
    ]
