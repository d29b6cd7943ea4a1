"""What an invoice says, kept: signer, buyer passport and budget-unit code, cash-register code,
payment method, fees, trade discount and the key of the invoice a correction corrects.

Invoices stored before this keep null in the new columns (their bytes hold what they said),
except two things read from what is already held: a correction's original key, copied from the
invoice it points to, and a currency written as the dong's symbol, which is the code VND.
The seller's covering index takes the currency and rate, which summaries now read.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops
from orjson import loads
from tortoise.fields.data import JSON_DUMPS
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('gateway', '0004_pinning_and_checkpoints')]

    initial = False

    operations = [
        ops.RemoveIndex(
            model_name='Invoice',
            name=None,
            fields=['seller_tax_code', 'issued_on', 'id', 'total_before_tax', 'total_tax', 'total_payable'],
        ),
        ops.AddField(
            model_name='Invoice',
            name='buyer_budget_unit_code',
            field=fields.CharField(null=True, max_length=7),
        ),
        ops.AddField(
            model_name='Invoice',
            name='buyer_passport',
            field=fields.CharField(null=True, max_length=20),
        ),
        ops.AddField(
            model_name='Invoice',
            name='cash_register_code',
            field=fields.CharField(null=True, max_length=34),
        ),
        ops.AddField(
            model_name='Invoice',
            name='fees',
            field=fields.JSONField(null=True, encoder=JSON_DUMPS, decoder=loads),
        ),
        ops.AddField(
            model_name='Invoice',
            name='payment_method',
            field=fields.CharField(null=True, max_length=50),
        ),
        ops.AddField(
            model_name='Invoice',
            name='related_number',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='Invoice',
            name='related_series',
            field=fields.CharField(null=True, max_length=8),
        ),
        ops.AddField(
            model_name='Invoice',
            name='related_template',
            field=fields.CharField(null=True, max_length=11),
        ),
        ops.AddField(
            model_name='Invoice',
            name='signer_issuer',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Invoice',
            name='signer_serial',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Invoice',
            name='signer_subject',
            field=fields.TextField(null=True, unique=False),
        ),
        ops.AddField(
            model_name='Invoice',
            name='signing_provider_tax_code',
            field=fields.CharField(null=True, max_length=14),
        ),
        ops.AddField(
            model_name='Invoice',
            name='total_fees',
            field=fields.DecimalField(null=True, max_digits=23, decimal_places=6),
        ),
        ops.AddField(
            model_name='Invoice',
            name='total_trade_discount',
            field=fields.DecimalField(null=True, max_digits=23, decimal_places=6),
        ),
        ops.AddIndex(
            model_name='Invoice',
            index=Index(fields=['seller_tax_code', 'issued_on', 'id', 'currency', 'exchange_rate', 'total_before_tax', 'total_tax', 'total_payable']),
        ),
        ops.RunSQL(
            [
                "UPDATE invoices SET"
                " related_template = (SELECT r.template FROM invoices r WHERE r.id = invoices.related_id),"
                " related_series = (SELECT r.series FROM invoices r WHERE r.id = invoices.related_id),"
                " related_number = (SELECT r.number FROM invoices r WHERE r.id = invoices.related_id)"
                " WHERE related_id IS NOT NULL",
                "UPDATE invoices SET currency = 'VND' WHERE currency IN ('đ', 'Đ', 'VNĐ', 'VNđ')",
            ],
            reverse_sql=[],
        ),
    ]
