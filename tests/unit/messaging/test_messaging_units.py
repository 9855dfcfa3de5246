"""Templates (unknown fields refused before sending), backoff, and the SMTP and HTTP SMS adapters against local
servers on 127.0.0.1 (aiosmtpd, a tiny http.server), stopped by the tests."""

from __future__ import annotations

import json
import socket
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller

from weixi.messaging import adapters
from weixi.messaging.outbox import DeliveryError, after_failure, backoff
from weixi.messaging.templates import Compiled, Template, TemplateError, check

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 10, 1, 9, 0, tzinfo=TZ)


def test_unknown_field_and_unknown_variable_are_refused_with_the_line():
    with pytest.raises(TemplateError, match=r"template t line 2: unknown field member.nickname"):
        check("t", "您好\n{{ member.nickname }}")
    with pytest.raises(TemplateError, match="unknown variable 'customer'"):
        check("t", "{{ customer.name }}")
    with pytest.raises(TemplateError, match="syntax error"):
        check("t", "{{ member.name ")


def test_rendering_a_known_field_without_a_value_is_an_error_not_an_empty_string():
    tpl = Compiled(Template("birthday", "sms", "尊敬的{{ member.name }}:生日快乐"))
    assert tpl.render({"member": {"name": "王芳"}}) == (None, "尊敬的王芳:生日快乐")
    with pytest.raises(TemplateError, match="no value for"):
        tpl.render({"member": {}})


def test_backoff_grows_and_gives_up():
    assert backoff(1).total_seconds() == 60 and backoff(4).total_seconds() == 7200
    assert after_failure(1, DeliveryError("down"), AT)[0] == "queued"
    assert after_failure(5, DeliveryError("down"), AT) == ("failed", None)
    assert after_failure(1, DeliveryError("bad address", permanent=True), AT) == ("failed", None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 OK"


def _msg(mid=1, channel="email", to="member@example.test"):
    return adapters.Outgoing(mid, f"care/2026-10-01/national_day/M{mid}", channel, to, "国庆快乐", "国庆节快乐!", AT)


def test_smtp_adapter_delivers_to_a_local_server_with_a_stable_message_id():
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = adapters.SmtpAdapter("127.0.0.1", port, "care@weixi.test")
        provider_id = smtp.send(_msg())
    finally:
        controller.stop()
    assert len(inbox.messages) == 1
    raw = inbox.messages[0].content.decode("utf-8")
    assert inbox.messages[0].rcpt_tos == ["member@example.test"] and provider_id in raw


def test_unreachable_smtp_server_is_a_retryable_error_saying_where():
    port = _free_port()  # nothing listens there
    with pytest.raises(DeliveryError) as exc:
        adapters.SmtpAdapter("127.0.0.1", port, "care@weixi.test").send(_msg())
    assert f"127.0.0.1:{port} unreachable" in str(exc.value) and not exc.value.permanent


class _Gateway(BaseHTTPRequestHandler):
    answers: list = []
    seen: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.headers["Idempotency-Key"], body))
        code = type(self).answers.pop(0)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"id": "gw-1"} if code == 200 else {"error": "x"}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    _Gateway.answers, _Gateway.seen = [], []
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, _Gateway
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_http_sms_gateway_accepts_retries_on_5xx_and_refuses_on_4xx(gateway):
    server, handler = gateway
    url = f"http://127.0.0.1:{server.server_port}/sms"
    sms = adapters.HttpSmsAdapter(url)
    handler.answers = [200, 503, 400]
    assert sms.send(_msg(1, "sms", "13800000001")) == "gw-1"
    with pytest.raises(DeliveryError) as soft:
        sms.send(_msg(2, "sms", "13800000002"))
    assert not soft.value.permanent and "503" in str(soft.value)
    with pytest.raises(DeliveryError) as hard:
        sms.send(_msg(3, "sms", "1"))
    assert hard.value.permanent
    key, body = handler.seen[0]
    assert key == "care/2026-10-01/national_day/M1" and body == {
        "to": "13800000001",
        "text": "国庆节快乐!",
        "message_id": key,
    }
