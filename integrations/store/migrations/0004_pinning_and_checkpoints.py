from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('gateway', '0003_risk_assessed_at')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Merchant',
            name='certificates_only',
            field=fields.BooleanField(default=False),
        ),
        ops.CreateModel(
            name='AuditCheckpoint',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('head_id', fields.BigIntField()),
                ('count', fields.BigIntField()),
                ('head_hash', fields.CharField(max_length=64)),
                ('key_id', fields.CharField(max_length=128)),
                ('signature', fields.TextField(unique=False)),
            ],
            options={'table': 'audit_checkpoints', 'app': 'gateway', 'pk_attr': 'id', 'table_description': 'The access log\'s head signed by the gateway: its last event, the count and the hash.'},
            bases=['Model'],
        ),
    ]
