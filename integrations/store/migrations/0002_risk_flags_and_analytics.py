from tortoise import migrations
from tortoise.migrations import operations as ops
from integrations.store.models import InvoiceKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('gateway', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='DuplicateAttempt',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('invoice', fields.ForeignKeyField('gateway.Invoice', source_field='invoice_id', db_constraint=True, to_field='id', related_name='duplicate_attempts', on_delete=OnDelete.CASCADE)),
                ('sha256', fields.CharField(max_length=64)),
                ('submitter', fields.CharField(default='', max_length=64)),
                ('attempted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'duplicate_attempts', 'app': 'gateway', 'indexes': [Index(fields=['invoice_id', 'attempted_at'])], 'pk_attr': 'id', 'table_description': 'Other bytes submitted under the business key of an invoice already held.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='InvoiceFlag',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('invoice', fields.ForeignKeyField('gateway.Invoice', source_field='invoice_id', db_constraint=True, to_field='id', related_name='flags', on_delete=OnDelete.CASCADE)),
                ('code', fields.CharField(max_length=32)),
                ('detail', fields.TextField(default='', unique=False)),
                ('raised_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('cleared_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'invoice_flags', 'app': 'gateway', 'indexes': [Index(fields=['code', 'invoice_id']), Index(fields=['invoice_id', 'code'])], 'pk_attr': 'id', 'table_description': 'A risk flag on an invoice. Clearing sets cleared_at, a later raise adds a new row.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Invoice',
            name='buyer_province',
            field=fields.CharField(default='', max_length=3),
        ),
        ops.AddField(
            model_name='Invoice',
            name='kind',
            field=fields.CharEnumField(default=InvoiceKind.VAT, description='VAT: vat\nSALES: sales\nCASH_REGISTER: cash_register\nOTHER: other', enum_type=InvoiceKind, max_length=13),
        ),
        ops.AddField(
            model_name='Invoice',
            name='seller_province',
            field=fields.CharField(default='', max_length=3),
        ),
        ops.AddIndex(
            model_name='Invoice',
            index=Index(fields=['issued_on', 'id']),
        ),
        ops.AddIndex(
            model_name='Invoice',
            index=Index(fields=['seller_tax_code', 'issued_on', 'id', 'total_before_tax', 'total_tax', 'total_payable']),
        ),
        ops.AddIndex(
            model_name='Invoice',
            index=Index(fields=['total_payable', 'id']),
        ),
        ops.AlterModelOptions(
            name='InvoiceDocument',
            options={'table': 'invoice_documents', 'app': 'gateway', 'pk_attr': 'invoice_id', 'table_description': 'The bytes exactly as received, and the stamped form the gateway handed back.'},
        ),
        ops.AddIndex(
            model_name='InvoiceLine',
            index=Index(fields=['invoice_id', 'tax_rate']),
        ),
    ]
