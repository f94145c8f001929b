"""etc/openwrt/uci2ini: UCI -> INI, run under sh (and busybox ash) with a
stand-in ``uci`` on PATH that prints what ``uci show`` would print."""

import configparser
import os
import shutil
import subprocess

import pytest

from conftest import ROOT, have, tool_param

UCI2INI = os.path.join(ROOT, "etc", "openwrt", "uci2ini")
UCI_DEFAULT = os.path.join(ROOT, "etc", "openwrt", "rocket.uci")

# every shell the scripts must work under; a missing one is reported as skipped
_DASH_IS_SH = bool(shutil.which("dash")) and \
    os.path.realpath(shutil.which("dash")) == os.path.realpath(shutil.which("sh"))
SHELLS = [["sh"]] + [s for s in (["dash"], ["busybox", "sh"]) if have(s[0])]  # the ones installed
SHELL_PARAMS = [pytest.param(["sh"], id="sh")] + \
    ([] if _DASH_IS_SH else [tool_param(["dash"], "dash")]) + [tool_param(["busybox", "sh"], "busybox")]

HOSTILE = [
    "plain",
    "with spaces  inside",
    "it's",
    "'",
    "''",
    "'\\''",
    'double "quotes"',
    "$(touch PWNED)",
    "`touch PWNED`",
    "a; touch PWNED; b",
    "a && touch PWNED",
    "${HOME}$HOME",
    "back\\slash\\n",
    "x = y = z",
    "# not a comment",
    "; not a comment",
    "[acs]",
    "%(interp)s 100%",
    "*?[glob]",
    "tab\there",
    "-n",
    "-e \\c",
    "",
]


def uci_quote(value):
    """Quote a value the way ``uci show`` does."""
    return "'" + value.replace("'", "'\\''") + "'"


def uci_show(sections, pkg="rocket"):
    """``uci show`` output for [(section_id, type, [(option, value or list)])]."""
    lines = []
    for sid, stype, options in sections:
        lines.append("%s.%s=%s" % (pkg, sid, stype))
        for name, value in options:
            if isinstance(value, list):
                text = " ".join(uci_quote(v) for v in value)
            else:
                text = uci_quote(value)
            lines.append("%s.%s.%s=%s" % (pkg, sid, name, text))
    return "\n".join(lines) + "\n"


@pytest.fixture
def fake_uci(tmp_path):
    """A stand-in ``uci`` that prints a prepared ``uci show`` output."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    show = tmp_path / "uci-show.txt"
    log = tmp_path / "uci-args.txt"
    script = bindir / "uci"
    script.write_text('#!/bin/sh\n'
                      'printf "%%s\\n" "$*" >> "%s"\n'
                      'case "$*" in\n'
                      '  "-q show rocket") cat "%s" ;;\n'
                      '  *) exit 1 ;;\n'
                      'esac\n' % (log, show))
    script.chmod(0o755)

    def run(text, shell, args=()):
        show.write_text(text)
        env = dict(os.environ, PATH="%s:%s" % (bindir, os.environ["PATH"]))
        r = subprocess.run(shell + [UCI2INI] + list(args), capture_output=True, text=True,
                           env=env, cwd=str(tmp_path), timeout=30)
        assert not (tmp_path / "PWNED").exists(), "a value was executed by the shell"
        return r

    run.log = log
    return run


def parse_ini(text):
    cp = configparser.ConfigParser(interpolation=None)
    cp.read_string(text)
    return cp


@pytest.mark.parametrize("shell", SHELL_PARAMS)
def test_hostile_values_round_trip(fake_uci, shell):
    opts = [("k%d" % i, v) for i, v in enumerate(HOSTILE)]
    text = uci_show([("service", "service", [("enabled", "1")]),
                     ("acs", "acs", [("url", "http://127.0.0.1:7557/acs"),
                                     ("password", "p@ss 'w\"o$(rd);")]),
                     ("@x_test[0]", "x_test", opts)])
    r = fake_uci(text, shell)
    assert r.returncode == 0, r.stderr
    cp = parse_ini(r.stdout)
    assert cp.sections() == ["acs", "x_test"]  # the init script's own section is not copied
    assert cp.get("acs", "url") == "http://127.0.0.1:7557/acs"
    assert cp.get("acs", "password") == "p@ss 'w\"o$(rd);"
    for key, value in opts:
        # configparser strips the ends of a value, as Config.get does
        assert cp.get("x_test", key) == value.strip(), (key, value)
    assert fake_uci.log.read_text().splitlines() == ["-q show rocket"]


@pytest.mark.parametrize("shell", SHELL_PARAMS)
def test_multiline_value_cannot_inject_keys(fake_uci, shell):
    evil = "x\nrocket.acs.url='http://attacker.invalid/'\n[cpe]\nserial_number = forged"
    text = uci_show([("acs", "acs", [("password", evil), ("username", "cpe")]),
                     ("cpe", "cpe", [("serial_number", "SN1"), ("oui", "a\rb")])])
    r = fake_uci(text, shell)
    assert r.returncode == 0, r.stderr
    cp = parse_ini(r.stdout)
    assert dict(cp["acs"]) == {"username": "cpe"}
    assert dict(cp["cpe"]) == {"serial_number": "SN1"}
    assert "acs.password" in r.stderr and "cpe.oui" in r.stderr


@pytest.mark.parametrize("shell", SHELL_PARAMS)
def test_lists_duplicates_and_bad_names(fake_uci, shell):
    text = uci_show([("acs", "acs", [("url", "http://a/"), ("ca_file", ["/a b.pem", "it's.pem"])]),
                     ("acs2", "acs", [("url", "http://second/")]),
                     ("cpe", "cpe", [("bad-name", "1"), ("oui", "00AA11")])])
    text += "garbage line\nrocket.cpe.serial_number='S N'\n"
    r = fake_uci(text, shell)
    assert r.returncode == 0, r.stderr
    cp = parse_ini(r.stdout)
    assert cp.get("acs", "url") == "http://a/"
    assert cp.get("acs", "ca_file") == "/a b.pem it's.pem"
    assert dict(cp["cpe"]) == {"oui": "00AA11", "serial_number": "S N"}
    assert "second 'acs' section" in r.stderr and "bad-name" in r.stderr


@pytest.mark.parametrize("shell", SHELL_PARAMS)
def test_uci_failure_is_an_error(tmp_path, shell):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "uci").write_text("#!/bin/sh\necho 'uci: Entry not found' >&2\nexit 1\n")
    (bindir / "uci").chmod(0o755)
    env = dict(os.environ, PATH="%s:%s" % (bindir, os.environ["PATH"]))
    r = subprocess.run(shell + [UCI2INI], capture_output=True, text=True, env=env, timeout=30)
    assert r.returncode == 1
    assert r.stdout == ""


def uci_file_to_show(path):
    """Parse a UCI config file (the subset etc/openwrt/rocket.uci uses)
    into ``uci show`` sections, to feed the stand-in ``uci``."""
    import shlex
    sections = []
    anon = {}
    for line in open(path, encoding="utf-8"):
        words = shlex.split(line, comments=True)
        if not words:
            continue
        if words[0] == "config":
            stype = words[1]
            if len(words) > 2:
                sid = words[2]
            else:
                sid = "@%s[%d]" % (stype, anon.get(stype, 0))
                anon[stype] = anon.get(stype, 0) + 1
            sections.append((sid, stype, []))
        elif words[0] == "option":
            sections[-1][2].append((words[1], words[2]))
    return sections


def test_shipped_uci_file_gives_a_valid_config(fake_uci, tmp_path):
    """etc/openwrt/rocket.uci -> uci2ini -> an INI file the agent accepts,
    with the same keys as rocket/config.py (nothing the agent would call
    unknown)."""
    from rocket.base.config import DEFAULTS, Config
    sections = uci_file_to_show(UCI_DEFAULT)
    r = fake_uci(uci_show(sections), SHELLS[-1])
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    conf = tmp_path / "rocket.conf"
    conf.write_text(r.stdout)
    cfg = Config.load(str(conf))
    cfg.validate()
    for sec in cfg.parser.sections():
        assert sec in DEFAULTS
        for key in cfg.parser[sec]:
            assert key in DEFAULTS[sec], (sec, key)
    uci_keys = {(s, k) for _, s, opts in sections if s != "service" for k, _ in opts}
    assert uci_keys == {(s, k) for s in DEFAULTS for k in DEFAULTS[s]}
