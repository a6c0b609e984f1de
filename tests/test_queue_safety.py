"""Jobs carry data, not code: the queue speaks JSON, and a pickle written into Redis is refused, never run.

arq pickles by default; unpickling runs whatever the payload names. Anyone able to write to Redis could then run
code in every worker (which holds SECRET_KEY, the database and the Gemini key)."""

from __future__ import annotations

import ipaddress
import os
import pickle
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from arq.constants import job_key_prefix, result_key_prefix
from arq.worker import create_worker, func
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.queue import create_queue, job, make_worker
from leadgram.wiring import WorkerSettings
from workers import settings as ws


class _Exploit:
    """Unpickling this creates a directory: proof that code from the queue ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.mkdir, (str(self.marker),))


async def echo(ctx: dict[str, Any], user_id: int, ids: list[int]) -> dict[str, Any]:
    return {"user_id": user_id, "ids": ids}


def _workers(queue: Any, kind: str) -> Any:
    functions = [*ws.FUNCTIONS, func(echo, name="echo")]
    if kind == "make_worker":  # leadgram worker / run / console / score
        return make_worker(queue, functions, burst=True, poll_delay=0.05)
    # `arq leadgram.wiring.WorkerSettings` builds its worker from the settings class
    return create_worker(WorkerSettings, redis_pool=queue, queue_name=queue.default_queue_name,
                         functions=functions, on_startup=None, on_shutdown=None, burst=True,
                         handle_signals=False, poll_delay=0.05)


@pytest.mark.parametrize("kind", ["make_worker", "arq_settings"])
async def test_pickle_payload_in_the_queue_is_rejected_not_executed(redis_url, unique, tmp_path, kind):
    queue = await create_queue(redis_url, unique)
    marker = tmp_path / "pwned"
    now_ms = int(time.time() * 1000)
    payload = pickle.dumps({"t": 1, "f": "sync_creator", "a": [_Exploit(marker)], "k": {}, "et": now_ms})
    try:
        # What an attacker with Redis access writes: a job exactly as arq stores one, only pickled.
        await queue.psetex(job_key_prefix + f"{unique}:evil", 60_000, payload)
        await queue.zadd(unique, {f"{unique}:evil": int(time.time() * 1000)})
        legit = await queue.enqueue_job("echo", 7, [1, 2], _job_id=f"{unique}:ok")
        assert legit is not None

        worker = _workers(queue, kind)
        await worker.async_run()
        await worker.close()

        assert not marker.exists(), "the pickled payload was executed"
        evil = await job(f"{unique}:evil", queue).result_info()
        assert evil is not None and evil.success is False
        assert "deserialize" in str(evil.result)
        # Real jobs still round-trip through JSON, arguments and results alike.
        assert await job(f"{unique}:ok", queue).result(timeout=30) == {"user_id": 7, "ids": [1, 2]}
        raw = await queue.get(result_key_prefix + f"{unique}:ok")
        assert raw is not None and raw.startswith(b"{")
    finally:
        keys = [k async for k in queue.scan_iter(match=f"*{unique}*")]
        if keys:
            await queue.delete(*keys)
        await queue.aclose()


async def test_in_process_queue_is_json_too(unique):
    queue = await create_queue(None, unique)
    try:
        await queue.enqueue_job("echo", 1, [3], _job_id=f"{unique}:a")
        raw = await queue.get(job_key_prefix + f"{unique}:a")
        assert raw is not None and raw.startswith(b"{")
    finally:
        await queue.delete(job_key_prefix + f"{unique}:a")
        await queue.zrem(unique, f"{unique}:a")
        await queue.aclose()


@pytest.fixture
def tls_redis(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """A private redis-server that only speaks TLS and needs a password (the production setup in DEPLOY.md)."""
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (scripts/services.sh installs the tests' Redis)")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([server, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
                             "--tls-cert-file", str(tmp_path / "cert.pem"), "--tls-key-file", str(tmp_path / "key.pem"),
                             "--tls-auth-clients", "no", "--requirepass", "s3cret", "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield port, tmp_path / "cert.pem"
    finally:
        proc.terminate()
        proc.wait(10)


async def test_queue_over_tls_with_a_password(tls_redis, unique):
    port, ca = tls_redis
    queue = await create_queue(f"rediss://:s3cret@127.0.0.1:{port}/0?ssl_ca_certs={ca}", unique)
    try:
        await queue.enqueue_job("echo", 5, [9], _job_id=f"{unique}:tls")
        worker = make_worker(queue, [func(echo, name="echo")], burst=True, poll_delay=0.05)
        await worker.async_run()
        assert await job(f"{unique}:tls", queue).result(timeout=30) == {"user_id": 5, "ids": [9]}
    finally:
        await queue.aclose()
    with pytest.raises(Exception, match="(?i)auth|password"):  # without the password: refused
        await create_queue(f"rediss://127.0.0.1:{port}/0?ssl_ca_certs={ca}", unique)
