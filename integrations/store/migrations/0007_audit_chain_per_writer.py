"""One access-log chain per writer: each event names its chain and its place in it, each
chain has a row for checkpoints to find it, and a checkpoint keeps the heads it signed.

The events already held become the chain ``legacy``, numbered in id order as they were
chained; its row takes the head the newest checkpoint signed, so the next checkpoint still
refuses a legacy chain cut or rewritten behind it.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint


class Migration(migrations.Migration):
    dependencies = [('gateway', '0006_invoice_rollups')]

    initial = False

    operations = [
        ops.AddField(
            model_name='AuditEvent',
            name='chain',
            field=fields.CharField(max_length=64, db_default='legacy'),
        ),
        ops.AddField(
            model_name='AuditEvent',
            name='seq',
            field=fields.BigIntField(db_default=0),
        ),
        ops.RunSQL(
            [
                "UPDATE audit_events SET seq = numbered.n FROM"
                " (SELECT id, row_number() OVER (ORDER BY id) AS n FROM audit_events) AS numbered"
                " WHERE audit_events.id = numbered.id",
            ],
            reverse_sql=[],
        ),
        ops.AddConstraint(
            model_name='AuditEvent',
            constraint=UniqueConstraint(fields=('chain', 'seq')),
        ),
        ops.AddField(
            model_name='AuditCheckpoint',
            name='heads',
            field=fields.JSONField(null=True),
        ),
        ops.CreateModel(
            name='AuditChain',
            fields=[
                ('chain', fields.CharField(primary_key=True, max_length=64)),
                ('started_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('signed_seq', fields.BigIntField(default=0)),
                ('signed_hash', fields.CharField(default='', max_length=64)),
            ],
            options={'table': 'audit_chains', 'app': 'gateway', 'pk_attr': 'chain', 'table_description': "One writer's chain of the access log, and the head of it a checkpoint last signed."},
            bases=['Model'],
        ),
        ops.RunSQL(
            [
                "INSERT INTO audit_chains (chain, started_at, signed_seq, signed_hash)"
                " SELECT 'legacy', MIN(at),"
                " COALESCE((SELECT \"count\" FROM audit_checkpoints ORDER BY id DESC LIMIT 1), 0),"
                " COALESCE((SELECT head_hash FROM audit_checkpoints ORDER BY id DESC LIMIT 1), '')"
                " FROM audit_events HAVING COUNT(*) > 0",
            ],
            reverse_sql=[],
        ),
    ]
