"""A child process that runs one send or provisioning and stops on cue, to be SIGKILLed.

Run as ``python -m tests.faults.killable '<json>'`` from the repository root;
the JSON names the database (URL and optional schema), the fake Twilio to talk
to, the business, the operation (``send`` or ``provision``) and where to stop:

- ``before``: inside the provider call, before the request leaves;
- ``inside``: the request is out (the parent holds the fake's answer back);
- ``after``: the provider answered, the result is not stored yet.

At the stopping point the child prints ``ready`` and blocks reading stdin.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from twilio.rest import Client

from neariq_sms import usecases as uc
from neariq_sms.adapters.clock import SystemClock
from neariq_sms.adapters.sql import SqlUnitOfWork, make_engine
from neariq_sms.adapters.twilio import TwilioTelephony
from neariq_sms.domain import Policy, PurchasedNumber, SentMessage
from neariq_sms.domain.phone import PhoneNumber
from tests.twilio.fake_twilio import LoopbackHttpClient

NO_QUIET_HOURS = Policy(quiet_hours=None)


def _stop_here() -> None:
    print("ready", flush=True)
    sys.stdin.readline()  # the parent kills us while we wait


class StoppingTelephony:
    """The Twilio adapter, stopping at the configured point of send and purchase."""

    def __init__(self, inner: TwilioTelephony, point: str) -> None:
        self.inner, self.point = inner, point

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def configured(self) -> bool:
        return self.inner.configured

    def send(
        self, *, from_: PhoneNumber, to: PhoneNumber, body: str, message_id: str | None = None
    ) -> SentMessage:
        if self.point == "before":
            _stop_here()
        sent = self.inner.send(from_=from_, to=to, body=body, message_id=message_id)
        _stop_here()
        return sent

    def purchase(self, number: PhoneNumber) -> PurchasedNumber:
        if self.point == "before":
            _stop_here()
        bought = self.inner.purchase(number)
        _stop_here()
        return bought


def main(raw: str) -> None:
    job = json.loads(raw)
    connect_args = {"options": f"-c search_path={job['schema']}"} if job.get("schema") else {}
    uow = SqlUnitOfWork(make_engine(job["database_url"], connect_args=connect_args))
    client = Client(
        job["account_sid"],
        job["auth_token"],
        http_client=LoopbackHttpClient(job["twilio_url"]),
        environment={"NEARIQ_SMS_TEST": "no fallback to os.environ"},
    )
    twilio = TwilioTelephony(client, public_url=job["public_url"], timeout=60.0)
    telephony: Any = StoppingTelephony(twilio, job["point"])
    if job["operation"] == "send":
        uc.send_review_request(
            job["business"],
            job["customer"],
            "Jane",
            uow=uow,
            telephony=telephony,
            clock=SystemClock(),
            policy=NO_QUIET_HOURS,
            idempotency_key="job-1",
        )
    else:
        uc.provision_number(
            job["business"], job["number"], uow=uow, telephony=telephony, clock=SystemClock()
        )
    print("finished", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
