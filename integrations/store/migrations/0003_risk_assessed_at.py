from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('gateway', '0002_risk_flags_and_analytics')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Invoice',
            name='risk_assessed_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddIndex(
            model_name='Invoice',
            index=Index(fields=['risk_assessed_at', 'received_at']),
        ),
    ]
