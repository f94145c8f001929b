"""The log redactor masks whole values where secrets live, never pieces of
other words (a short or common password must not mangle the log or reveal
itself by the pattern of what got masked)."""

import pytest

from rocket.base.log import Logger


@pytest.fixture
def red():
    lg = Logger()
    return lg


PLAIN = [
    "transfer: downloading to /tmp/adv/fw.bin (4096 bytes)",
    "backend openwrt: /usr/lib/rocket/backends/openwrt get: exit status 1",
    "session: administrator asked for GetParameterValues of Device.DeviceInfo.",
    "rpc: SetParameterValues ParameterKey=admin-2024 (3 parameters)",
    "state: /var/lib/rocket/events.json recovered; lost: pending events",
    "connreq: 127.0.0.1:43110 GET / -> 200 (digest ok, nc=00000001)",
]


@pytest.mark.parametrize("secret", ["p", "t", "a", "e", "1", "/", "admin", "rocket", "tmp", "acs",
                                    "root", "events", "GET", "200"])
@pytest.mark.parametrize("line", PLAIN)
def test_short_and_common_passwords_do_not_mangle_lines(red, secret, line):
    red.secrets.add(secret)
    assert red.redact(line) == line


@pytest.mark.parametrize("secret", ["p", "admin", "hunter2", "s3cr3t with spaces"])
def test_secrets_in_known_places_are_masked_whole(red, secret):
    red.secrets.add(secret)
    cases = {
        "session: ACS http://cpe:%s@acs.example:7547/acs" % secret.replace(" ", "%20"):
            "session: ACS http://***@acs.example:7547/acs",
        "acs: Authorization: Basic %s" % secret: "acs: Authorization: ***",
        "acs: sent Cookie: session=%s" % secret: "acs: sent Cookie: ***",
        "ctl: set Device.ManagementServer.Password=%s" % secret.replace(" ", "_"):
            "ctl: set Device.ManagementServer.Password=***",
        'config: [acs] password = "%s"' % secret: 'config: [acs] password = ***',
        "stun: STUNPassword: %s" % secret.replace(" ", "_"): "stun: STUNPassword: ***",
        "rpc: value %r refused" % secret: "rpc: value '***' refused",
    }
    for line, want in cases.items():
        got = red.redact(line)
        assert got == want, (line, got)
        assert secret not in got.replace("***", "") or len(secret) == 1


def test_parameter_key_is_not_a_secret(red):
    assert red.redact("ParameterKey=k1 Token=abc") == "ParameterKey=k1 Token=***"
