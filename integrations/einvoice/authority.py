"""The tax authority's part of an invoice: the MCCQT code and the CQT signature.

A coded invoice gets ``<MCCQT Id="Id-…">`` and ``DSCKS/CQT/Signature`` covering DLHDon, its own
SigningTime and the MCCQT, with no transforms (``einvoice-format.md`` §4.1, §6). The seller's
signature covers only DLHDon and its own SigningTime, so stamping leaves it valid. A
cash-register invoice instead carries a code its seller generated (§4.2), checked here.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from lxml import etree

from integrations.einvoice import codes
from integrations.einvoice.findings import Finding
from integrations.einvoice.parse import CheckedTree, make_parser
from integrations.einvoice.pki import SignerIdentity
from integrations.einvoice.signing import SigningError, ensure_id, new_id, sign_tree

TAX_AUTHORITY_CODE = re.compile(r"^00[0-9A-F]{32}$")
CASH_REGISTER_CODE = re.compile(r"^M[1-9]-\d{2}-[A-Z0-9]{5}-\d{11}$")
_SERIES_YEAR = re.compile(r"^[CK](\d{2})")


def new_tax_authority_code() -> str:
    """34 upper-case hex characters starting with "00", the shape of every real MCCQT."""
    return "00" + secrets.token_hex(16).upper()


def stamp_invoice(
    signed_invoice: bytes,
    *,
    code: str,
    authority: SignerIdentity,
    signing_time: datetime,
    tree: CheckedTree | None = None,
) -> bytes:
    """Add MCCQT and the tax authority's signature to a seller-signed invoice.

    ``tree``, the checks' parse of these same bytes, is taken over where it can be; otherwise
    the bytes are parsed. That tree, with the code added, is what is signed.
    """
    taken = tree.take() if tree is not None else None
    root = taken.root if taken is not None and taken.root is not None else _parse(signed_invoice)
    if root.find("MCCQT") is not None:
        raise SigningError("the invoice already carries an MCCQT")
    data = root.findall("DLHDon")
    if len(data) != 1:
        raise SigningError(f"HDon must have exactly one DLHDon, found {len(data)}")
    data_id = data[0].get("Id")
    code_id = new_id("Id")
    mccqt = etree.Element("MCCQT", Id=code_id)
    mccqt.text = code
    dscks = root.find("DSCKS")
    # Real 202 messages put MCCQT just before DSCKS; the seller's digests are unaffected.
    if dscks is not None:
        dscks.addprevious(mccqt)
    else:
        root.append(mccqt)
    return sign_tree(
        root,
        location="DSCKS/CQT",
        reference_ids=[ensure_id(data[0], "DLHDon"), code_id],
        signer=authority,
        signing_time=signing_time,
        enveloped=False,
        signature_id=new_id("Tct"),
        **_learnt(taken, data_id, mccqt),
    )


def _learnt(tree: CheckedTree | None, data_id: str | None, mccqt: etree._Element) -> dict[str, Any]:
    """What the checks learnt of the tree the stamp took over, as ``sign_tree`` takes it:
    DLHDon's canonical form, and the Id index with the new MCCQT in it."""
    if tree is None or not data_id or not tree.ids:
        return {}
    forms = {data_id: tree.canonical["DLHDon"]} if "DLHDon" in tree.canonical else {}
    return {"canonical_forms": forms, "id_index": {**tree.ids, mccqt.get("Id"): [mccqt]}}


def check_cash_register_code(code: str, *, template: str | int, series: str) -> list[Finding]:
    """Finding 5025 when the code is not ``M<template>-<series year>-XXXXX-<11 digits>``.

    A business rule, not a signature's: the seller's software writes the code outside what the
    seller signs, and what matters is that it is well formed and fits the invoice.
    """
    path = "/HDon/MCCQT"
    if not CASH_REGISTER_CODE.match(code):
        return [codes.CASH_REGISTER_CODE.finding(repr(code), path=path)]
    problems = []
    if code[1] != str(template):
        problems.append(f"type digit {code[1]} is not template {template}")
    year = _SERIES_YEAR.match(series)
    if year is None or code[3:5] != year.group(1):
        problems.append(f"year {code[3:5]} does not match series {series}")
    return [codes.CASH_REGISTER_CODE.finding(p, path=path) for p in problems]


def _parse(signed_invoice: bytes) -> etree._Element:
    try:
        return etree.fromstring(signed_invoice, parser=make_parser())
    except etree.XMLSyntaxError as exc:
        raise SigningError(f"not well-formed XML: {exc}") from exc
