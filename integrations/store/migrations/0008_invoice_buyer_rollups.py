"""Each identified buyer of a seller, month and currency, once, for summaries that count
distinct buyers (``store/rollups.py``), filled from the invoices already held in the same
migration."""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

from integrations.store import rollups


async def backfill(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    """Roll up the buyers of the invoices already held, in the migration's transaction."""
    await rollups.rebuild(schema_editor.client, (rollups.BUYERS,))


class Migration(migrations.Migration):
    dependencies = [('gateway', '0007_audit_chain_per_writer')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InvoiceBuyerRollup',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('seller_tax_code', fields.CharField(max_length=14)),
                ('month', fields.CharField(max_length=7)),
                ('currency', fields.CharField(max_length=3)),
                ('buyer', fields.CharField(max_length=14)),
            ],
            options={'table': 'invoice_buyer_rollups', 'app': 'gateway', 'unique_together': (('seller_tax_code', 'month', 'currency', 'buyer'),), 'indexes': [Index(fields=['month'])], 'pk_attr': 'id', 'table_description': "Each identified buyer of a seller's invoices in a month and currency, once."},
            bases=['Model'],
        ),
        ops.RunPython(backfill, reverse_code=ops.RunPython.noop),
    ]
