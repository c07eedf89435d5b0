"""State shared between store objects, connections and processes, on SQLite and PostgreSQL.

* Two store objects on one database see each other's entries, and entries survive
  reopening; a read-only revocation store reads what a writer revoked.
* Racing store objects, each with its own connection (threads), never both win one
  replay key or both take one flow secret: the database decides, not a lock of ours.
* 20 processes (each its own interpreter and connection) verify one DPoP proof at once:
  exactly one succeeds, 19 get ``token.replayed``.
* One presentation verified by one process and then by another, sharing a replay store:
  the second gets ``presentation.replayed``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from govkit.certificates import (
    Agency,
    CertificateIssuer,
    Holder,
    HolderDevice,
    StatusList,
    TrustedIssuer,
    TrustedKey,
    TrustList,
    sign_status_list,
)
from govkit.errors import FlowError, StoreError
from govkit.identity import create_dpop_proof
from govkit.keys import SigningKey
from govkit.stores import (
    PostgresFlowStore,
    PostgresReplayStore,
    PostgresRevocationStore,
    SQLiteFlowStore,
    SQLiteReplayStore,
    SQLiteRevocationStore,
    new_flow_handle,
)
from govkit.testing import FixedClock

T0 = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)
KEY = bytes(range(32))
ROOT = Path(__file__).resolve().parents[3]
URL = "https://tax.gov.example/returns"

ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
CLASSES: dict[str, dict[str, Any]] = {
    "sqlite": {
        "replay": SQLiteReplayStore,
        "revocation": SQLiteRevocationStore,
        "flow": SQLiteFlowStore,
    },
    "postgres": {
        "replay": PostgresReplayStore,
        "revocation": PostgresRevocationStore,
        "flow": PostgresFlowStore,
    },
}


class Place:
    """One database that several store objects (and processes) open."""

    def __init__(self, engine: str, location: str) -> None:
        self.engine = engine
        self.location = location

    def open(self, kind: str, **options: Any) -> Any:
        if kind == "flow":
            options.setdefault("key", KEY)
        return CLASSES[self.engine][kind](self.location, **options)


@pytest.fixture(params=ENGINES)
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Place:
    if request.param == "sqlite":
        return Place("sqlite", str(tmp_path / "shared.sqlite3"))
    url: str = request.getfixturevalue("pg_store_url")
    return Place("postgres", url)


# --- store objects ------------------------------------------------------------------------


def test_entries_are_shared_between_store_objects(place: Place) -> None:
    replay_a, replay_b = place.open("replay"), place.open("replay")
    revoke_a, revoke_b = place.open("revocation"), place.open("revocation")
    flow_a, flow_b = place.open("flow"), place.open("flow")
    try:
        assert replay_a.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
        assert not replay_b.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
        revoke_b.revoke_token("jti", expires_at=T0 + MINUTE)
        assert revoke_a.is_revoked("jti", now=T0)
        revoke_a.revoke_subject("s", not_before=T0)
        assert revoke_b.subject_not_before("s") == T0
        handle = new_flow_handle()
        flow_a.put(handle, b"verifier", now=T0, expires_at=T0 + MINUTE)
        assert flow_b.take(handle, now=T0) == b"verifier"
        with pytest.raises(FlowError) as caught:
            flow_a.take(handle, now=T0)
        assert caught.value.code == "store.flow_taken"
    finally:
        for store in (replay_a, replay_b, revoke_a, revoke_b, flow_a, flow_b):
            store.close()


def test_entries_survive_reopening(place: Place) -> None:
    handle = new_flow_handle()
    with place.open("replay") as replay, place.open("revocation") as revoke:
        replay.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
        revoke.revoke_token("jti", expires_at=T0 + MINUTE)
    with place.open("flow") as flows:
        flows.put(handle, b"v", now=T0, expires_at=T0 + MINUTE)
    with place.open("replay") as replay, place.open("revocation") as revoke:
        assert not replay.check_and_remember("k", now=T0, expires_at=T0 + MINUTE)
        assert revoke.is_revoked("jti", now=T0)
    with place.open("flow") as flows:
        assert flows.take(handle, now=T0) == b"v"


def test_a_read_only_revocation_store_reads_and_refuses_to_write(place: Place) -> None:
    with place.open("revocation") as writer:
        writer.revoke_token("jti", expires_at=T0 + MINUTE)
        writer.revoke_subject("s", not_before=T0)
    with place.open("revocation", read_only=True) as reader:
        assert reader.is_revoked("jti", now=T0)
        assert reader.subject_not_before("s") == T0
        with pytest.raises(StoreError) as caught:
            reader.revoke_token("other", expires_at=T0 + MINUTE)
        assert caught.value.code == "store.error"


def _threads(stores: list[Any], job: Callable[[Any], Any]) -> list[Any]:
    barrier = threading.Barrier(len(stores))
    results: list[Any] = [None] * len(stores)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = job(stores[i])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_racing_connections_win_each_replay_key_once(place: Place) -> None:
    keys = [f"dpop:k:{i}" for i in range(60)]
    stores = [place.open("replay") for _ in range(6)]
    try:
        for key in keys[::2]:  # half of them exist already, expired
            stores[0].check_and_remember(key, now=T0 - MINUTE, expires_at=T0)

        def job(store: Any) -> list[str]:
            return [k for k in keys if store.check_and_remember(k, now=T0, expires_at=T0 + MINUTE)]

        wins = Counter(key for won in _threads(stores, job) for key in won)
    finally:
        for store in stores:
            store.close()
    assert wins == Counter(dict.fromkeys(keys, 1))


def test_racing_connections_take_a_flow_secret_once(place: Place) -> None:
    stores = [place.open("flow") for _ in range(8)]
    handles = [new_flow_handle() for _ in range(150)]
    try:
        for i, handle in enumerate(handles):
            stores[0].put(handle, b"secret-%d" % i, now=T0, expires_at=T0 + MINUTE)

        def job(store: Any) -> list[bytes | str]:
            got: list[bytes | str] = []
            for handle in handles:
                try:
                    got.append(store.take(handle, now=T0))
                except FlowError as exc:
                    got.append(exc.code)
            return got

        taken = Counter(value for got in _threads(stores, job) for value in got)
    finally:
        for store in stores:
            store.close()
    expected: Counter[bytes | str] = Counter({b"secret-%d" % i: 1 for i in range(len(handles))})
    expected["store.flow_taken"] = (len(stores) - 1) * len(handles)
    assert taken == expected


# --- processes ----------------------------------------------------------------------------

DPOP_WORKER = """
import json, sys, time
from datetime import datetime
from pathlib import Path
spec = json.loads(sys.argv[1])
from govkit.errors import GovkitError
from govkit.identity import DPoPVerifier
from govkit.stores import PostgresReplayStore, SQLiteReplayStore
from govkit.testing import FixedClock
now = datetime.fromisoformat(spec["now"])
if spec["engine"] == "sqlite":
    store = SQLiteReplayStore(spec["location"])
else:
    store = PostgresReplayStore(spec["location"])
verifier = DPoPVerifier(replay_store=store, clock=FixedClock(now))
print("ready", flush=True)
go = Path(spec["go"])
while not go.exists():
    time.sleep(0.001)
try:
    verifier.verify(spec["proof"], htm="POST", htu=spec["htu"])
    result = "won"
except GovkitError as exc:
    result = exc.code
store.close()
print(json.dumps(result), flush=True)
"""


def _start(script: str, spec: dict[str, Any]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _finish(proc: subprocess.Popen[str]) -> Any:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.slow
def test_twenty_processes_race_on_one_dpop_proof_and_exactly_one_wins(
    place: Place, tmp_path: Path
) -> None:
    with place.open("replay"):  # the table exists before the race
        pass
    proof = create_dpop_proof(
        SigningKey.generate("ES256"), htm="POST", htu=URL, clock=FixedClock(T0)
    )
    go = tmp_path / "go"
    spec = {
        "engine": place.engine,
        "location": place.location,
        "proof": proof,
        "htu": URL,
        "now": (T0 + timedelta(seconds=2)).isoformat(),
        "go": str(go),
    }
    procs = [_start(DPOP_WORKER, spec) for _ in range(20)]
    try:
        for proc in procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line == "ready\n", proc.stderr.read() if proc.stderr else line
        go.touch()
        results = [_finish(proc) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert Counter(results) == Counter({"won": 1, "token.replayed": 19})


PRESENTATION_WORKER = """
import json, sys
from datetime import datetime
spec = json.loads(sys.argv[1])
from govkit.certificates import CertificateVerifier, TrustList, load_status_list
from govkit.keys import VerifyingKey
from govkit.stores import PostgresReplayStore, SQLiteReplayStore
from govkit.testing import FixedClock
now = datetime.fromisoformat(spec["now"])
if spec["engine"] == "sqlite":
    store = SQLiteReplayStore(spec["location"])
else:
    store = PostgresReplayStore(spec["location"])
status = load_status_list(
    spec["status"].encode(), [VerifyingKey.from_jwk(spec["status_key"])], at=now
)
verifier = CertificateVerifier(
    TrustList.from_json(spec["trust"]), status=status, clock=FixedClock(now), replay_store=store
)
report = verifier.inspect_presentation(spec["presentation"], profile="traffic-police")
store.close()
print(json.dumps({"ok": report.ok, "code": report.code}), flush=True)
"""

POLICE = Agency("广东省公安厅交通管理局", "114400000069445123")
PHOTO = base64.urlsafe_b64encode(hashlib.sha256(b"photo").digest()[:16]).decode().rstrip("=")


def _presentation_spec(place: Place) -> dict[str, Any]:
    """A driving licence presentation, and what a verifier in another process needs."""
    clock = FixedClock(T0)
    key = SigningKey.generate("ES256")
    statuses = StatusList(64, list_id="gd-2026")
    issuer = CertificateIssuer(key, agency=POLICE, clock=clock, status=statuses)
    device = HolderDevice(SigningKey.generate("EdDSA"), clock=clock)
    credential = issuer.issue_selective(
        "driving-licence",
        device_key=device.verifying_key,
        holder=Holder("p-3f9a1c07d2", "pseudonym"),
        fields={
            "name": "张三丰",
            "licence_class": "B2",
            "photo_digest": PHOTO,
            "first_issue_date": "2015-06-01",
            "file_number": "440100123456",
        },
        valid_from=date(2026, 1, 1),
        valid_until=date(2032, 1, 1),
    )
    trust = TrustList(
        (TrustedIssuer(POLICE, (TrustedKey.for_key(key.verifying_key, {"driving-licence"}),)),),
        1,
        T0 - timedelta(days=1),
        T0 + timedelta(days=30),
    )
    status = sign_status_list(
        statuses, key, issued_at=T0, expires_at=T0 + timedelta(days=1), sequence=1
    )
    shown = device.present(credential, ["name", "licence_class", "photo_digest"])
    return {
        "engine": place.engine,
        "location": place.location,
        "trust": trust.to_json(),
        "status": status.decode(),
        "status_key": key.verifying_key.to_jwk(),
        "presentation": shown.text,
        "now": (T0 + timedelta(seconds=5)).isoformat(),
    }


def test_a_presentation_verified_in_one_process_is_a_replay_in_the_next(place: Place) -> None:
    spec = _presentation_spec(place)
    first = _finish(_start(PRESENTATION_WORKER, spec))
    assert first == {"ok": True, "code": None}
    second = _finish(_start(PRESENTATION_WORKER, spec))
    assert second == {"ok": False, "code": "presentation.replayed"}
