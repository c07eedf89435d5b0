"""The ``govkit payments`` commands, and example Flask and FastAPI endpoints that acknowledge."""

from __future__ import annotations

import json
import warnings
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response as FastAPIResponse
from starlette.exceptions import StarletteDeprecationWarning

from govkit.cli import main
from govkit.errors import PaymentDeliveryUnknown, PaymentEventUnknown, StoreError
from govkit.keys import SigningKey
from govkit.payments import Alipay, PaymentEvent, PaymentInbox, Stripe, WeChatPayV3
from govkit.testing.payments import alipay_callback, stripe_callback, wechat_callback

with warnings.catch_warnings():
    # Starlette prefers httpx2; the dev extra installs httpx, which works (as in identity).
    warnings.filterwarnings(
        "ignore", "Using `httpx` with `starlette.testclient`", StarletteDeprecationWarning
    )
    from fastapi.testclient import TestClient

SECRET = "whsec_cli"
APIV3 = "0123456789abcdef0123456789abcdef"
KEY_ID = "PUB_KEY_ID_0001"
APP_ID = "2021000118600000"
BILL = (
    "交易时间,微信订单号,商户订单号,交易状态,货币种类,订单金额,退款金额,商户退款单号\n"
    "`{day} 10:00:00,`4200001,`GOV-1,`SUCCESS,`CNY,`50.00,`0.00,`0\n"
    "`{day} 11:00:00,`4200002,`GOV-2,`SUCCESS,`CNY,`20.00,`0.00,`0\n"
    "总交易单数,应结订单总金额\n`2,`70.00\n"
)


@pytest.fixture
def inbox_path(tmp_path: Path) -> Path:
    path = tmp_path / "inbox.db"
    fail = [True]

    def handler(event: PaymentEvent) -> None:
        if fail[0] and event.order_id == "GOV-2":
            raise RuntimeError("down")

    with PaymentInbox(path, handler=handler) as inbox:
        for order_id, amount in (("GOV-1", 5000), ("GOV-2", 2000)):
            inbox.create_order(order_id, provider="stripe", amount=amount)
            inbox.receive(
                Stripe([SECRET]),
                *stripe_callback(
                    SECRET, order_id=order_id, amount=amount, event_id=f"evt_{order_id}"
                ),
            )
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object]]:
    code = main(["--json", *argv])
    return code, json.loads(capsys.readouterr().out)


def test_show_lists_counts_and_events(inbox_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run(capsys, "payments", "show", str(inbox_path))
    assert code == 0
    assert data["stats"] == {  # type: ignore[comparison-overlap]
        "deliveries": 2,
        "rejected": 0,
        "events": 2,
        "failed": 1,
        "processed": 1,
    }


def test_replay_processes_a_failed_event_with_the_applications_handler(
    inbox_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Received with a handler: without it the event is not processed (it would skip
    # the application), with it, it is.
    code, data = run(capsys, "payments", "replay", str(inbox_path), "evt_GOV-2")
    assert code == 1
    assert data["event"]["state"] == "failed"  # type: ignore[index]
    (tmp_path / "cli_handlers.py").write_text("def handle(event):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code, data = run(
        capsys,
        "payments",
        "replay",
        str(inbox_path),
        "evt_GOV-2",
        "--handler",
        "cli_handlers:handle",
    )
    assert code == 0
    assert data["event"]["state"] == "processed"  # type: ignore[index]


def test_replay_of_an_unknown_event_is_a_lookup_failure_exit_3_not_a_store_failure(
    inbox_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """No such event: like a file that does not exist (exit 3), not a verdict on anything
    read (1), and not ``payment.store``: the store answered, it just holds no such id."""
    code, data = run(capsys, "payments", "replay", str(inbox_path), "evt_nope")
    assert code == 3
    error = data["error"]
    assert isinstance(error, dict)
    assert error["code"] == "payment.event_unknown"
    assert error["context"] == {"matches": 0, "event_id": "evt_nope"}
    assert "--provider" in error["hint"]
    assert set(data) == {"error"}
    with PaymentInbox(inbox_path, orders=True, read_only=True) as inbox:
        with pytest.raises(PaymentEventUnknown) as caught:
            inbox.event("evt_nope")
        assert not isinstance(caught.value, StoreError)
        assert caught.value.code == "payment.event_unknown"
        with pytest.raises(PaymentEventUnknown):
            inbox.event("evt_GOV-1", provider="alipay")  # stored, but under another provider
        assert inbox.event("evt_GOV-1").event.order_id == "GOV-1"
        with pytest.raises(PaymentDeliveryUnknown) as missing:
            inbox.delivery_body(10**9)
        assert not isinstance(missing.value, StoreError)
        assert missing.value.code == "payment.delivery_unknown"


def test_reconcile_reports_differences_with_exit_1(
    tmp_path: Path, platform_key: SigningKey, capsys: pytest.CaptureFixture[str]
) -> None:
    inbox_path = tmp_path / "wechat.db"
    wechat = WeChatPayV3(APIV3, {KEY_ID: platform_key.verifying_key})
    with PaymentInbox(inbox_path, orders=False) as inbox:
        for order_id, amount in (("GOV-1", 5000), ("GOV-2", 2000)):
            callback = wechat_callback(
                platform_key, KEY_ID, APIV3, order_id=order_id, amount=amount
            )
            inbox.receive(wechat, *callback)
    day = datetime.now(timezone(timedelta(hours=8))).strftime("%Y-%m-%d")
    bill = tmp_path / "bill.csv"
    bill.write_text(BILL.format(day=day).replace("`20.00", "`2000.00"))  # yuan read as fen
    code, data = run(capsys, "payments", "reconcile", str(bill), "--inbox", str(inbox_path))
    assert code == 1
    assert data["matched"] == 1
    assert [d["kind"] for d in data["differences"]] == ["unit_mismatch"]  # type: ignore[union-attr]


def test_missing_inbox_is_an_environment_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = run(capsys, "payments", "show", str(tmp_path / "absent.db"))
    assert code == 3


# --- web frameworks -------------------------------------------------------------


@pytest.fixture(scope="module")
def platform_key() -> SigningKey:
    return SigningKey.generate("RS256")


def test_flask_endpoint_answers_wechat_with_204_and_a_forgery_with_4xx(
    tmp_path: Path, platform_key: SigningKey
) -> None:
    from flask import Flask, Response, request  # noqa: PLC0415

    inbox = PaymentInbox(tmp_path / "flask.db", orders=False)
    wechat = WeChatPayV3(APIV3, {KEY_ID: platform_key.verifying_key})
    app = Flask(__name__)

    @app.post("/notify/wechatpay")
    def notify() -> Response:
        receipt = inbox.receive(
            wechat, dict(request.headers), request.get_data(), source=request.remote_addr
        )
        return Response(receipt.ack.body, receipt.ack.status, receipt.ack.headers)

    client = app.test_client()
    headers, body = wechat_callback(platform_key, KEY_ID, APIV3, order_id="F-1", amount=9)
    assert client.post("/notify/wechatpay", data=body, headers=headers).status_code == 204
    forged = wechat_callback(SigningKey.generate("RS256"), KEY_ID, APIV3, order_id="F-1", amount=9)
    answer = client.post("/notify/wechatpay", data=forged[1], headers=forged[0])
    assert answer.status_code == 401
    assert answer.get_json()["code"] == "FAIL"
    inbox.close()


def test_fastapi_endpoint_answers_alipay_with_success(tmp_path: Path) -> None:

    key = SigningKey.generate("RS256")
    inbox = PaymentInbox(tmp_path / "fastapi.db", orders=False)
    alipay = Alipay(key.verifying_key, APP_ID)
    app = FastAPI()

    @app.post("/notify/alipay")
    async def notify(request: Request) -> FastAPIResponse:
        body = await request.body()
        client_host = request.client.host if request.client else None
        receipt = inbox.receive(alipay, dict(request.headers), body, source=client_host)
        return FastAPIResponse(receipt.ack.body, receipt.ack.status, receipt.ack.headers)

    with TestClient(app) as client:
        headers, body = alipay_callback(key, APP_ID, order_id="A-1", amount=100)
        answer = client.post("/notify/alipay", content=body, headers=headers)
        assert (answer.status_code, answer.content) == (200, b"success")
        tampered = body.replace(b"out_trade_no=A-1", b"out_trade_no=A-2")
        answer = client.post("/notify/alipay", content=tampered, headers=headers)
        assert answer.content == b"fail"
    inbox.close()
