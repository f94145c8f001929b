"""rocket.base.log: the syslog and stderr sinks, levels and redaction."""

import os
import socket

import pytest

from rocket.base.log import INFO, Logger, level_from_name


@pytest.fixture
def syslog(tmp_path):
    path = str(tmp_path / "log.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(5)
    yield path, s
    s.close()


def test_syslog_lines_carry_daemon_priority_pid_and_no_secret(syslog):
    path, server = syslog
    log = Logger()
    log.syslog_path = path
    log.configure("syslog", "info")
    log.secrets.add("hunter2")
    log.debug("not sent %s", 1)
    log.info("session: start %s password=%s", "http://acs", "hunter2")
    log.error("boom")
    first = server.recv(4096).decode()
    assert first == "<30>rocket[%d]: session: start http://acs password=***" % os.getpid()
    assert server.recv(4096).decode() == "<27>rocket[%d]: boom" % os.getpid()
    log.close()


def test_syslog_unreachable_falls_back_to_stderr(tmp_path, capsys):
    log = Logger()
    log.syslog_path = str(tmp_path / "nobody-listens")
    log.configure("syslog", "warning")
    log.info("quiet")
    log.warning("heard %d", 42)
    err = capsys.readouterr().err
    assert "quiet" not in err
    assert err.endswith(" rocket WARNING heard 42\n")


def test_exception_has_traceback_and_bad_format_does_not_raise(capsys):
    log = Logger()
    log.configure("stderr", "debug")
    try:
        raise ValueError("inner detail")
    except ValueError:
        log.exception("rpc: %s failed", "GetParameterValues")
    log.info("two %s %s", "args only one")
    err = capsys.readouterr().err
    assert "ERROR rpc: GetParameterValues failed\nTraceback" in err
    assert "ValueError: inner detail" in err
    assert "two %s %s" in err


def test_levels():
    assert level_from_name("Info") == INFO
    with pytest.raises(ValueError):
        level_from_name("loud")
