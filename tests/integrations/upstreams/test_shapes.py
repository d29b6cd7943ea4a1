"""Wrong-typed answers never become values: each is refused with the JSON path named."""

from __future__ import annotations

from decimal import Decimal

import orjson
import pytest

from integrations.errors import UpstreamBadResponse
from integrations.upstreams.batch import decode_items
from integrations.upstreams.electricity import decode_contracts
from integrations.upstreams.population import decode_person
from integrations.upstreams.shapes import Fields, ShapeError

PERSON = {
    "id_number": "001099012345",
    "full_name": "Nguyễn Văn An",
    "sex": "male",
    "date_of_birth": "1999-03-14",
    "province_code": "001",
    "place_of_birth": "Hà Nội",
    "address": "12 Lý Thường Kiệt",
}
BILL = {"period": "2026-10", "units": 120, "amount": "269244"}
CONTRACT = {
    "contract_number": "PE1",
    "supplier": "Điện lực Hà Nội",
    "address": "12 Lý Thường Kiệt",
    "status": "ACTIVE",
}


def _contracts(bill: dict[str, object]) -> dict[str, object]:
    return {"holder_id": "001099012345", "contracts": [{**CONTRACT, "bills": [bill]}]}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        pytest.param({"full_name": 7}, "$.full_name", id="number-for-text"),
        pytest.param({"sex": "other"}, "$.sex", id="unknown-enum"),
        pytest.param({"date_of_birth": "14/03/1999"}, "$.date_of_birth", id="bad-date"),
        pytest.param({"address": None}, "$.address", id="null-for-text"),
    ],
)
def test_person_shape_errors_name_the_path(change: dict[str, object], path: str) -> None:
    with pytest.raises(ShapeError) as caught:
        decode_person(Fields({**PERSON, **change}))
    assert caught.value.path == path


def test_missing_field_is_refused() -> None:
    incomplete = {k: v for k, v in PERSON.items() if k != "address"}
    with pytest.raises(ShapeError, match=r"\$\.address"):
        decode_person(Fields(incomplete))


@pytest.mark.parametrize(
    ("bill", "path"),
    [
        pytest.param({"amount": 269244.0}, "amount", id="float-money"),
        pytest.param({"amount": "2,692"}, "amount", id="formatted-money"),
        pytest.param({"units": True}, "units", id="bool-for-int"),
        pytest.param({"units": "120"}, "units", id="string-for-int"),
    ],
)
def test_bill_shape_errors(bill: dict[str, object], path: str) -> None:
    with pytest.raises(ShapeError, match=rf"\$\.contracts\[0\]\.bills\[0\]\.{path}"):
        decode_contracts(Fields(_contracts({**BILL, **bill})))


def test_money_is_decimal() -> None:
    (contract,) = decode_contracts(Fields(_contracts(BILL)))
    assert contract.bills[0].amount == Decimal("269244")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"items": {"001099012345": ', id="truncated"),
        pytest.param(orjson.dumps({"items": []}), id="items-not-object"),
        pytest.param(orjson.dumps({"items": {}}), id="requested-id-missing"),
        pytest.param(orjson.dumps({"items": {"001099012345": {"full_name": 1}}}), id="wrong-type"),
        pytest.param(b"[]", id="not-an-object"),
    ],
)
def test_bad_batch_answers(body: bytes) -> None:
    with pytest.raises(UpstreamBadResponse) as caught:
        decode_items("population", body, ["001099012345"], decode_person)
    assert caught.value.service == "population"
