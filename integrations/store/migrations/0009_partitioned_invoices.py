"""On PostgreSQL, invoices partitioned by month of issue, their identity kept unique in
``invoice_keys`` (``store/partitions.py``); every invoice held moves in the same migration.
SQLite keeps one table: nothing changes there."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise.migrations.schema_editor.base import BaseSchemaEditor
from tortoise.migrations.schema_generator.state_apps import StateApps

from integrations.store import partitions


async def partition(apps: StateApps, schema_editor: BaseSchemaEditor) -> None:
    await partitions.partition(schema_editor.client)


class Migration(migrations.Migration):
    dependencies = [('gateway', '0008_invoice_buyer_rollups')]

    initial = False

    operations = [ops.RunPython(partition, reverse_code=ops.RunPython.noop)]
