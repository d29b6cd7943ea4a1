"""The e-invoice format's XSDs, installed as the package data of ``integrations.einvoice.xsd``.

See ``integrations.einvoice.schema.default_xsd_dir`` and ``docs/xsd.md``.
"""
