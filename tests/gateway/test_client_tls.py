"""TLS through the real httpx transport against a loopback server: verify, CA bundle, failures."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bifrost_tui.gateway.client import ClientConfig, GatewayClient
from bifrost_tui.gateway.endpoint import tls_verify
from bifrost_tui.gateway.errors import GatewayConfigError, TLSFailure

TLS = Path(__file__).parent.parent / "data" / "tls"
BODY = b'{"status":"ok","components":{"db_pings":"ok"}}'


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            + f"content-length: {len(BODY)}\r\nconnection: close\r\n\r\n".encode()
            + BODY
        )
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError):
        pass  # the client refused our certificate: that is the point of some tests
    finally:
        writer.close()


async def _start(host: str) -> asyncio.Server:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(TLS / "server.pem", TLS / "server.key")
    return await asyncio.start_server(_answer, host, 0, ssl=context)


@pytest.fixture
async def tls_server() -> AsyncIterator[str]:
    server = await _start("127.0.0.1")
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.close()
        await server.wait_closed()


async def test_an_untrusted_certificate_is_a_tls_failure(tls_server: str) -> None:
    async with GatewayClient(ClientConfig(base_url=tls_server, retries=0)) as client:
        with pytest.raises(TLSFailure) as info:
            await client.health()
    message = info.value.message
    assert message.startswith("certificate not trusted")
    assert "ca_bundle" in message and "never turned off silently" in message


async def test_the_profiles_ca_bundle_is_trusted(tls_server: str) -> None:
    config = ClientConfig(base_url=tls_server, verify=str(TLS / "ca.pem"))
    async with GatewayClient(config) as client:
        assert await client.health() == {"status": "ok", "components": {"db_pings": "ok"}}


async def test_hostname_is_checked_against_the_certificate() -> None:
    # The certificate names 127.0.0.1 and localhost; a server on 127.0.0.2 presenting it is refused.
    try:
        server = await _start("127.0.0.2")
    except OSError:
        pytest.skip("this system cannot bind 127.0.0.2")
    port = server.sockets[0].getsockname()[1]
    config = ClientConfig(base_url=f"https://127.0.0.2:{port}", verify=str(TLS / "ca.pem"))
    try:
        async with GatewayClient(config) as client:
            with pytest.raises(TLSFailure, match="certificate does not match the host"):
                await client.health()
    finally:
        server.close()
        await server.wait_closed()


def test_tls_verify_builds_a_context_from_the_bundle() -> None:
    context = tls_verify(str(TLS / "ca.pem"))
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert context.cert_store_stats()["x509_ca"] == 1
    assert tls_verify(True) is True


def test_tls_verify_refuses_a_file_that_is_not_a_bundle(tmp_path: Path) -> None:
    bogus = tmp_path / "ca.pem"
    bogus.write_text("not a certificate")
    with pytest.raises(GatewayConfigError, match="CA bundle"):
        tls_verify(str(bogus))
