"""Monthly roll-ups of accepted invoices for officer summaries (``store/rollups.py``),
filled from the invoices already held in the same migration."""

from tortoise import fields, migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

from integrations.store import rollups
from integrations.store.models import TotalField


async def backfill(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    """Roll up the invoices already held, in the migration's transaction."""
    await rollups.rebuild(schema_editor.client, rollups.SUMS)


class Migration(migrations.Migration):
    dependencies = [('gateway', '0005_invoice_fidelity')]

    initial = False

    operations = [
        ops.CreateModel(
            name='InvoiceRollup',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('month', fields.CharField(max_length=7)),
                ('currency', fields.CharField(max_length=3)),
                ('invoices', fields.BigIntField(default=0)),
                ('unrated', fields.BigIntField(default=0)),
                ('total_before_tax', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_before_tax_vnd_0', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_before_tax_vnd_1', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_before_tax_vnd_2', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_before_tax_vnd_3', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_tax', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_tax_vnd_0', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_tax_vnd_1', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_tax_vnd_2', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_tax_vnd_3', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_payable', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_payable_vnd_0', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_payable_vnd_1', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_payable_vnd_2', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_payable_vnd_3', TotalField(default=0, generated=False, null=False, unique=False)),
                ('seller_tax_code', fields.CharField(max_length=14)),
            ],
            options={'table': 'invoice_rollups', 'app': 'gateway', 'unique_together': (('seller_tax_code', 'month', 'currency'),), 'indexes': [Index(fields=['month'])], 'pk_attr': 'id', 'table_description': 'Accepted invoices summed per seller, month and currency.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InvoiceRateRollup',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('month', fields.CharField(max_length=7)),
                ('currency', fields.CharField(max_length=3)),
                ('tax_rate', fields.CharField(max_length=11)),
                ('tax_percent', fields.DecimalField(max_digits=7, decimal_places=4)),
                ('invoices', fields.BigIntField(default=0)),
                ('unrated', fields.BigIntField(default=0)),
                ('amount', TotalField(default=0, generated=False, null=False, unique=False)),
                ('amount_vnd_0', TotalField(default=0, generated=False, null=False, unique=False)),
                ('amount_vnd_1', TotalField(default=0, generated=False, null=False, unique=False)),
                ('amount_vnd_2', TotalField(default=0, generated=False, null=False, unique=False)),
                ('amount_vnd_3', TotalField(default=0, generated=False, null=False, unique=False)),
                ('seller_tax_code', fields.CharField(max_length=14)),
            ],
            options={'table': 'invoice_rate_rollups', 'app': 'gateway', 'unique_together': (('seller_tax_code', 'month', 'currency', 'tax_rate', 'tax_percent'),), 'indexes': [Index(fields=['month'])], 'pk_attr': 'id', 'table_description': 'Lines of accepted invoices summed per seller, month, currency, rate and percent.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InvoiceStripeRollup',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('month', fields.CharField(max_length=7)),
                ('currency', fields.CharField(max_length=3)),
                ('invoices', fields.BigIntField(default=0)),
                ('unrated', fields.BigIntField(default=0)),
                ('total_before_tax', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_before_tax_vnd_0', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_before_tax_vnd_1', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_before_tax_vnd_2', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_before_tax_vnd_3', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_tax', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_tax_vnd_0', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_tax_vnd_1', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_tax_vnd_2', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_tax_vnd_3', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_payable', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_payable_vnd_0', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_payable_vnd_1', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_payable_vnd_2', TotalField(default=0, generated=False, null=False, unique=False)),
                ('total_payable_vnd_3', TotalField(default=0, generated=False, null=False, unique=False)),
                ('stripe', fields.CharField(max_length=2)),
            ],
            options={'table': 'invoice_stripe_rollups', 'app': 'gateway', 'unique_together': (('month', 'stripe', 'currency'),), 'pk_attr': 'id', 'table_description': 'Accepted invoices summed per month, currency and stripe of sellers.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InvoiceStripeRateRollup',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('month', fields.CharField(max_length=7)),
                ('currency', fields.CharField(max_length=3)),
                ('tax_rate', fields.CharField(max_length=11)),
                ('tax_percent', fields.DecimalField(max_digits=7, decimal_places=4)),
                ('invoices', fields.BigIntField(default=0)),
                ('unrated', fields.BigIntField(default=0)),
                ('amount', TotalField(default=0, generated=False, null=False, unique=False)),
                ('amount_vnd_0', TotalField(default=0, generated=False, null=False, unique=False)),
                ('amount_vnd_1', TotalField(default=0, generated=False, null=False, unique=False)),
                ('amount_vnd_2', TotalField(default=0, generated=False, null=False, unique=False)),
                ('amount_vnd_3', TotalField(default=0, generated=False, null=False, unique=False)),
                ('stripe', fields.CharField(max_length=2)),
            ],
            options={'table': 'invoice_stripe_rate_rollups', 'app': 'gateway', 'unique_together': (('month', 'stripe', 'currency', 'tax_rate', 'tax_percent'),), 'pk_attr': 'id', 'table_description': 'Lines of accepted invoices summed per month, currency, rate, percent and stripe.'},
            bases=['Model'],
        ),
        ops.RunPython(backfill, reverse_code=ops.RunPython.noop),
    ]
