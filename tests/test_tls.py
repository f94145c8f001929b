"""HTTPS to the ACS with certificates made by trustme: verification, hostname, mTLS."""

import logging
import ssl

import pytest
import trustme

from rocket.devacs import Acs, build_rpc

GPV = build_rpc("GetParameterValues", ["Device.DeviceInfo.SerialNumber"])


@pytest.fixture(scope="module")
def ca():
    return trustme.CA()


def tls_acs(ca, names=("127.0.0.1",), client_ca=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert(*names).configure_cert(ctx)
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        client_ca.configure_trust(ctx)
    return Acs(tls_context=ctx).start()


def ca_file(ca, tmp_path, name="ca.pem"):
    path = tmp_path / name
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def test_good_ca_passes(ca, tmp_path, make_agent):
    acs = tls_acs(ca)
    try:
        assert acs.url.startswith("https://127.0.0.1:")
        acs.queue = [GPV]
        agent = make_agent(acs.url, acs={"ca_file": ca_file(ca, tmp_path)})
        assert agent.run() == 0
        assert b"TB-0001" in acs.sessions[0].answers[0][1]
    finally:
        acs.stop()


def test_wrong_ca_fails(ca, tmp_path, make_agent):
    acs = tls_acs(ca)
    try:
        agent = make_agent(acs.url, acs={"ca_file": ca_file(trustme.CA(), tmp_path)})
        assert agent.run() == 1
        assert acs.requests == []
        assert "certificate" in agent.last_result[1].lower()
    finally:
        acs.stop()


def test_system_store_does_not_trust_test_ca(ca, make_agent):
    acs = tls_acs(ca)
    try:
        assert make_agent(acs.url).run() == 1 and acs.requests == []
    finally:
        acs.stop()


def test_wrong_hostname_fails(ca, tmp_path, make_agent):
    acs = tls_acs(ca, names=("acs.example.net",))
    try:
        agent = make_agent(acs.url, acs={"ca_file": ca_file(ca, tmp_path)})
        assert agent.run() == 1
        assert acs.requests == []
    finally:
        acs.stop()


def test_insecure_passes_and_warns(ca, tmp_path, make_agent, caplog):
    acs = tls_acs(ca, names=("acs.example.net",))
    try:
        agent = make_agent(acs.url, acs={"insecure": "true", "ca_file": ca_file(trustme.CA(), tmp_path)})
        with caplog.at_level(logging.WARNING, logger="rocket"):
            assert agent.run() == 0
        assert any("insecure" in r.getMessage() and r.levelno == logging.WARNING
                   for r in caplog.records)
    finally:
        acs.stop()


def test_client_certificate_presented(ca, tmp_path, make_agent):
    client_ca = trustme.CA()
    acs = tls_acs(ca, client_ca=client_ca)
    peers = []
    acs.hook = lambda a, h, body: peers.append(h.connection.getpeercert()) and False
    try:
        cert = client_ca.issue_cert("cpe-TB-0001@example.net")
        crt, key = tmp_path / "client.crt", tmp_path / "client.key"
        cert.cert_chain_pems[0].write_to_path(str(crt))
        cert.private_key_pem.write_to_path(str(key))
        # without the client certificate the ACS refuses the handshake
        agent = make_agent(acs.url, acs={"ca_file": ca_file(ca, tmp_path)})
        assert agent.run() == 1 and peers == []
        agent = make_agent(acs.url, acs={"ca_file": ca_file(ca, tmp_path), "client_cert": str(crt),
                                         "client_key": str(key)})
        assert agent.run() == 0
        assert peers and all(p is not None for p in peers)
        sans = dict(x[0] for x in peers[0]["subject"]) if peers[0].get("subject") else {}
        alt = peers[0].get("subjectAltName", ())
        assert ("email", "cpe-TB-0001@example.net") in alt or sans
    finally:
        acs.stop()


def test_https_to_http_redirect_refused(ca, tmp_path, make_agent):
    acs = tls_acs(ca)
    with Acs() as plain:
        acs.redirect = (plain.url, 1)
        try:
            agent = make_agent(acs.url, acs={"ca_file": ca_file(ca, tmp_path)})
            assert agent.run() == 1
            assert "refusing redirect" in agent.last_result[1]
            assert plain.requests == []
        finally:
            acs.stop()


def test_https_redirect_to_https_and_digest(ca, tmp_path, make_agent):
    acs, other = tls_acs(ca), tls_acs(ca)
    try:
        acs.redirect = (other.url, 1)
        other.auth = ("digest", "cpe", "pw")
        other.queue = [GPV]
        agent = make_agent(acs.url, acs={"ca_file": ca_file(ca, tmp_path), "username": "cpe",
                                         "password": "pw"})
        assert agent.run() == 0
        assert len(other.sessions[0].answers) == 1
        assert other.requests[0].status == 401 and other.requests[1].port == other.requests[0].port
    finally:
        acs.stop()
        other.stop()


def test_basic_allowed_over_https(ca, tmp_path, make_agent):
    acs = tls_acs(ca)
    try:
        acs.auth = ("basic", "cpe", "pw")
        agent = make_agent(acs.url, acs={"ca_file": ca_file(ca, tmp_path), "username": "cpe",
                                         "password": "pw"})
        assert agent.run() == 0
        assert acs.requests[1].headers["authorization"].startswith("Basic ")
    finally:
        acs.stop()
