"""Command groups of the ``gateway`` CLI beyond serving: PKI, invoices and the merchant registry.

Each group is a thin layer over library calls; ``gateway.cli`` registers them.
"""
