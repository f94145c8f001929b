"""Session flow and HTTP behaviour against the loopback ACS (real sockets)."""

import re
import threading

import pytest

from rocket.devacs import Acs, build_rpc, envelope

GPV = build_rpc("GetParameterValues", ["Device.DeviceInfo.SerialNumber"])


def kinds(acs):
    """What the CPE posted, message by message: Inform, empty, X (request), XResponse."""
    out = []
    for r in acs.requests:
        m = re.search(rb"<soap-env:Body><cwmp:(\w+)|<soap-env:Body><soap-env:(Fault)", r.body)
        out.append("empty" if not r.body else (m.group(1) or m.group(2)).decode() if m else "?")
    return out


def authorized(acs):
    return [r for r in acs.requests if r.status != 401]


# ------------------------------------------------------------ session flow
def test_hold_requests_delays_cpe_request_until_message_without_it(acs, make_agent):
    acs.hold_requests = True
    acs.queue = [GPV]
    agent = make_agent(acs.url, acs={"get_rpc_methods": "true"})
    assert agent.run() == 0
    # held through the empty POST; the GPV (no HoldRequests) lifts it, but a
    # response POST cannot carry a request: GetRPCMethods goes after the 204
    assert kinds(acs) == ["Inform", "empty", "GetParameterValuesResponse", "GetRPCMethods", "empty"]


def test_hold_requests_lifted_by_empty_answer(acs, make_agent):
    acs.hold_requests = True
    agent = make_agent(acs.url, acs={"get_rpc_methods": "true"})
    assert agent.run() == 0
    assert kinds(acs) == ["Inform", "empty", "GetRPCMethods", "empty"]


def test_without_hold_cpe_requests_go_first(acs, make_agent):
    acs.queue = [GPV]
    assert make_agent(acs.url, acs={"get_rpc_methods": "true"}).run() == 0
    assert kinds(acs) == ["Inform", "GetRPCMethods", "empty", "GetParameterValuesResponse"]


def test_fault_8005_resends_with_new_id(acs, make_agent):
    acs.fault_8005 = 2
    assert make_agent(acs.url, acs={"get_rpc_methods": "true"}).run() == 0
    reqs = acs.sessions[0].cpe_requests
    assert len(reqs) == 3
    ids = [re.search(r"<cwmp:ID[^>]*>([^<]*)<", r).group(1) for r in reqs]
    assert len(set(ids)) == 3
    # the body is the same apart from the ID
    assert len({re.sub(r"<cwmp:ID[^>]*>[^<]*<", "", r) for r in reqs}) == 1


def test_fault_8005_is_bounded(acs, make_agent):
    acs.fault_8005 = 100
    assert make_agent(acs.url, acs={"get_rpc_methods": "true"}).run() == 0
    assert len(acs.sessions[0].cpe_requests) == 4  # first try + 3 resends
    assert kinds(acs)[-1] == "empty"


def test_no_more_requests_header_is_ignored(acs, make_agent):
    ns = "urn:dslforum-org:cwmp-1-2"
    acs.inform_response = envelope(ns, "1", "<cwmp:InformResponse><MaxEnvelopes>1</MaxEnvelopes>"
                                   "</cwmp:InformResponse>", "<cwmp:NoMoreRequests>1</cwmp:NoMoreRequests>")
    acs.queue = [GPV]
    assert make_agent(acs.url).run() == 0
    assert b"TB-0001" in acs.sessions[0].answers[0][1]


def test_acs_requests_chain_in_replies_to_responses(acs, make_agent):
    acs.queue = [GPV] * 5
    assert make_agent(acs.url).run() == 0
    assert kinds(acs) == ["Inform", "empty"] + ["GetParameterValuesResponse"] * 5
    assert len(acs.sessions[0].answers) == 5


def test_acs_request_instead_of_response_fails_session(acs, make_agent):
    def hook(a, h, body):
        if b"<cwmp:GetRPCMethods>" in body or b"<cwmp:GetRPCMethods/>" in body:
            a._reply(h, 200, envelope("urn:dslforum-org:cwmp-1-2", "x", GPV))
            return True
        return False
    acs.hook = hook
    agent = make_agent(acs.url, acs={"get_rpc_methods": "true"})
    assert agent.run() == 1
    assert "expected GetRPCMethodsResponse" in agent.last_result[1]


@pytest.mark.parametrize("status", [204, 200])
def test_empty_answer_ends_session(acs, make_agent, status):
    acs.end_status = status
    acs.queue = [GPV]
    assert make_agent(acs.url).run() == 0
    assert acs.requests[-1].status == status and kinds(acs)[-1] == "GetParameterValuesResponse"


def test_session_timeout_when_acs_never_answers(acs, make_agent):
    release = threading.Event()

    def hook(a, h, body):
        if not body:
            release.wait(30)  # never answers the empty POST while the agent waits
            return True
        return False
    acs.hook = hook
    agent = make_agent(acs.url, acs={"session_timeout": "1"})
    try:
        assert agent.run() == 1
    finally:
        release.set()
    assert "no answer" in agent.last_result[1]
    assert "session_timeout" not in agent.last_result[1]


@pytest.mark.parametrize("how", ["close", "silent"])
def test_acs_closes_connection_between_messages(acs, make_agent, how):
    if how == "close":
        acs.close_after_response = True
    else:
        acs.silent_close = True
    acs.queue = [GPV, GPV]
    assert make_agent(acs.url).run() == 0
    reqs = acs.requests
    assert len({r.port for r in reqs}) == len(reqs)  # a new connection each time
    sid = acs.sessions[0].id
    assert all("session=%s" % sid in r.headers.get("cookie", "") for r in reqs[1:])
    assert len(acs.sessions[0].answers) == 2


def test_http_error_status_fails_session(acs, make_agent):
    acs.status_override = (500, b"oops")
    assert make_agent(acs.url).run() == 1


# ---------------------------------------------------------------- redirects
@pytest.mark.parametrize("status", [301, 302, 307])
def test_redirect_is_sticky_for_the_session_only(acs, make_agent, status):
    with Acs() as other:
        other.queue = [GPV, GPV]
        acs.redirect = (other.url, 1)
        acs.redirect_status = status
        agent = make_agent(acs.url)
        assert agent.run() == 0
        assert len(acs.requests) == 1 and acs.requests[0].status == status
        assert kinds(other) == ["Inform", "empty", "GetParameterValuesResponse",
                                "GetParameterValuesResponse"]
        # ManagementServer.URL unchanged, and the next session goes to the configured URL
        assert agent.acs_url == acs.url
        agent2 = make_agent(acs.url, boot=False)
        assert agent2.run() == 0
        assert len(acs.sessions) == 1 and len(other.sessions) == 1


@pytest.mark.parametrize("count,ok", [(5, True), (6, False)])
def test_at_most_five_redirects(acs, make_agent, count, ok):
    acs.redirect = (acs.url, count)
    assert make_agent(acs.url).run() == (0 if ok else 1)
    assert len(acs.sessions) == (1 if ok else 0)


# ------------------------------------------------------------ authentication
def test_basic_over_plain_http_refused(acs, make_agent):
    acs.auth = ("basic", "cpe", "pw")
    agent = make_agent(acs.url, acs={"username": "cpe", "password": "pw"})
    assert agent.run() == 1
    assert "Basic" in agent.last_result[1]
    assert all("authorization" not in r.headers for r in acs.requests)


def test_basic_over_http_when_allowed(acs, make_agent):
    acs.auth = ("basic", "cpe", "pw")
    acs.queue = [GPV]
    agent = make_agent(acs.url, acs={"username": "cpe", "password": "pw",
                                     "allow_basic_over_http": "true"})
    assert agent.run() == 0
    assert all(r.headers["authorization"].startswith("Basic ") for r in authorized(acs))


@pytest.mark.parametrize("alg", ["MD5", "MD5-sess", "SHA-256", "SHA-256-sess"])
def test_digest_algorithms_nc_and_same_connection(acs, make_agent, alg):
    acs.auth = ("digest", "cpe", "pw", alg)
    acs.queue = [GPV, GPV]
    agent = make_agent(acs.url, acs={"username": "cpe", "password": "pw"})
    assert agent.run() == 0
    reqs = acs.requests
    assert reqs[0].status == 401 and "authorization" not in reqs[0].headers
    # the authenticated resend goes on the very same TCP connection
    assert reqs[1].port == reqs[0].port and reqs[1].status == 200
    ok = authorized(acs)
    ncs = [re.search(r"\bnc=([0-9a-f]{8})", r.headers["authorization"]).group(1) for r in ok]
    assert ncs == ["%08x" % i for i in range(1, len(ok) + 1)]
    assert all("algorithm=%s" % alg in r.headers["authorization"] for r in ok)
    assert all('opaque="5ccc"' in r.headers["authorization"] for r in ok)
    cnonces = [re.search(r'cnonce="([^"]+)"', r.headers["authorization"]).group(1) for r in ok]
    assert len(set(cnonces)) == len(cnonces)
    assert len(acs.requests) == 5  # one 401 per session, not one per POST


def test_cookies_from_401_kept_then_dropped_after_session(acs, make_agent):
    acs.auth = ("digest", "cpe", "pw")
    acs.auth_cookie = "lb=node7"
    agent = make_agent(acs.url, acs={"username": "cpe", "password": "pw"})
    assert agent.run() == 0
    first = acs.requests[0]
    assert "cookie" not in first.headers
    assert all("lb=node7" in r.headers.get("cookie", "") for r in acs.requests[1:])
    n = len(acs.requests)
    assert make_agent(acs.url, boot=False, acs={"username": "cpe", "password": "pw"}).run() == 0
    assert "cookie" not in acs.requests[n].headers  # a new session starts without cookies


def test_cookie_from_redirect_kept(acs, make_agent):
    with Acs() as other:
        def hook(a, h, body):
            if b"<cwmp:Inform>" in body and a.redirect[1] > 0:
                a.redirect = (a.redirect[0], 0)
                a._reply(h, 307, b"", [("Location", other.url), ("Set-Cookie", "route=r1; Path=/")])
                return True
            return False
        acs.redirect = (other.url, 1)
        acs.hook = hook
        assert make_agent(acs.url).run() == 0
        assert all("route=r1" in r.headers.get("cookie", "") for r in other.requests)


def test_wrong_credentials_do_not_loop(acs, make_agent):
    acs.auth = ("digest", "cpe", "pw", "SHA-256")
    agent = make_agent(acs.url, acs={"username": "cpe", "password": "nope"})
    assert agent.run() == 1
    assert len(acs.requests) == 2 and "authentication failed" in agent.last_result[1]


def test_no_credentials_configured(acs, make_agent):
    acs.auth = ("digest", "cpe", "pw")
    agent = make_agent(acs.url)
    assert agent.run() == 1 and len(acs.requests) == 1


def test_post_headers(acs, make_agent):
    acs.queue = [GPV]
    assert make_agent(acs.url).run() == 0
    for r in acs.requests:
        assert "expect" not in r.headers
        if r.body:
            assert r.headers["content-type"] == 'text/xml; charset="utf-8"'
            assert r.headers["soapaction"] == ""
        else:
            assert "content-type" not in r.headers and "soapaction" not in r.headers
            assert r.headers["content-length"] == "0"


# ------------------------------------------------------------ configuration
def test_small_max_body_is_a_limit_not_a_crash(acs, make_agent):
    acs.queue = [build_rpc("GetParameterValues", ["Device."])]
    agent = make_agent(acs.url, acs={"max_body": "70000"})
    assert agent.run() == 0
    big = "<X>%s</X>" % ("y" * 80000)
    acs.queue = [GPV.replace("</cwmp:GetParameterValues>", big + "</cwmp:GetParameterValues>")]
    agent = make_agent(acs.url, boot=False, acs={"max_body": "70000"})
    assert agent.run() == 1
    assert "larger than 70000" in agent.last_result[1]


def test_max_body_below_spec_minimum_rejected(tmp_path, acs):
    from rocket.agent import Agent
    from rocket.base.config import Config, ConfigError
    from conftest import write_conf
    with pytest.raises(ConfigError):
        Agent(Config.load(write_conf(tmp_path, acs.url, acs={"max_body": "1000"})))


def test_missing_ca_file_fails_session_cleanly(acs, make_agent, tmp_path, caplog):
    agent = make_agent(acs.url.replace("http:", "https:"),
                       acs={"ca_file": str(tmp_path / "missing.pem")})
    assert agent.run() == 1
    assert "TLS" in agent.last_result[1]
    assert "internal error" not in agent.last_result[1]


def test_nonce_expiry_mid_session_is_answered(acs, make_agent):
    acs.auth = ("digest", "cpe", "pw")
    acs.queue = [GPV, GPV]

    def hook(a, h, body):
        if b"GetParameterValuesResponse" in body and not hook.done:
            hook.done = True
            a._nonce_conn.clear()  # every nonce handed out so far is now stale
        return False
    hook.done = False
    acs.hook = hook
    agent = make_agent(acs.url, acs={"username": "cpe", "password": "pw"})
    assert agent.run() == 0
    statuses = [r.status for r in acs.requests]
    assert statuses.count(401) == 2
    i = statuses.index(401, 1)
    assert acs.requests[i + 1].body == acs.requests[i].body  # the same message, resent
    assert "nc=00000001" in acs.requests[i + 1].headers["authorization"]
    assert len(acs.sessions[0].answers) == 2


def test_redirect_later_in_the_session_fails_it(acs, make_agent):
    with Acs() as other:
        def hook(a, h, body):
            if b"GetParameterValuesResponse" in body:
                a._reply(h, 307, b"", [("Location", other.url)])
                return True
            return False
        acs.hook = hook
        acs.queue = [GPV]
        agent = make_agent(acs.url)
        assert agent.run() == 1
        assert "redirect in the middle of a session" in agent.last_result[1]
        assert other.requests == []


def test_relative_redirect_location(acs, make_agent):
    def hook(a, h, body):
        if h.path == "/acs":
            a._reply(h, 302, b"", [("Location", "/elsewhere?x=1")])
            return True
        return False
    acs.hook = hook
    acs.queue = [GPV]
    assert make_agent(acs.url).run() == 0
    assert [r.path for r in acs.requests] == ["/acs"] + ["/elsewhere?x=1"] * 3


def test_credentials_not_sent_unasked_to_redirect_target(acs, make_agent):
    with Acs() as other:
        acs.auth = ("digest", "cpe", "pw")
        other.auth = ("digest", "cpe", "pw")
        acs.redirect = (other.url, 1)
        other.queue = [GPV]
        agent = make_agent(acs.url, acs={"username": "cpe", "password": "pw"})
        assert agent.run() == 0
        assert [r.status for r in acs.requests] == [401, 302]
        assert "authorization" not in other.requests[0].headers  # waits for its own challenge
        assert other.requests[0].status == 401 and other.requests[1].status == 200
        assert "nc=00000001" in other.requests[1].headers["authorization"]


def _challenge_hook(challenge, check):
    """An ACS that answers the first POST of a connection with ``challenge``
    and accepts what ``check(authorization)`` approves."""
    def hook(a, h, body):
        got = h.headers.get("Authorization", "")
        if got and check(got):
            return False
        a._reply(h, 401, b"", [("WWW-Authenticate", challenge)])
        return True
    return hook


def _rfc2069_ok(got):
    from rocket.net.digest import digest_response, parse_params
    p = parse_params(got[7:])
    return ("qop" not in p and "nc" not in p and p.get("response") == digest_response(
        "MD5", "cpe", "r", "pw", "POST", p["uri"], "n2069", "", "", ""))


def test_digest_without_qop_rfc2069(acs, make_agent):
    acs.hook = _challenge_hook('Digest realm="r", nonce="n2069"', _rfc2069_ok)
    assert make_agent(acs.url, acs={"username": "cpe", "password": "pw"}).run() == 0


def test_digest_preferred_over_basic_in_one_header(acs, make_agent):
    acs.hook = _challenge_hook('Basic realm="b", Digest realm="r", nonce="n2069"', _rfc2069_ok)
    assert make_agent(acs.url, acs={"username": "cpe", "password": "pw"}).run() == 0
    assert all(r.headers.get("authorization", "Digest").startswith("Digest") for r in acs.requests)


@pytest.mark.parametrize("challenge", ['Digest realm="r", nonce="x", algorithm=SHA-512-256',
                                       'Digest realm="r", nonce="x", qop="auth-int"',
                                       'Digest realm="r"', 'Negotiate abc', ""])
def test_unanswerable_challenges_fail_cleanly(acs, make_agent, challenge):
    acs.hook = _challenge_hook(challenge, lambda got: False)
    agent = make_agent(acs.url, acs={"username": "cpe", "password": "pw"})
    assert agent.run() == 1
    assert "internal error" not in agent.last_result[1]
    assert len(acs.requests) == 1
