"""rocket.base.booleans: the two dialects of booleans as text."""

import pytest

from rocket.base.booleans import config_bool, config_to_xsd, xsd_bool, xsd_text
from rocket.base.config import Config, ConfigError
from rocket.cwmp import values


@pytest.mark.parametrize("word,want", [
    ("1", True), ("true", True), ("TRUE", True), (" yes ", True), ("On", True),
    ("0", False), ("false", False), ("No", False), ("off", False),
])
def test_config_words(word, want):
    assert config_bool(word) is want


@pytest.mark.parametrize("word", ["", "2", "y", "enable", "truee", "-1"])
def test_config_rejects_other_words(word):
    with pytest.raises(ValueError):
        config_bool(word)


@pytest.mark.parametrize("word,want", [("true", True), ("1", True), (" False ", False), ("0", False)])
def test_xsd_words(word, want):
    assert xsd_bool(word) is want


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "", "tru"])
def test_xsd_is_strict_about_ini_words(word):
    # CWMP carries xsd:boolean: "yes" from an ACS is a wrong value (9007),
    # not a true one.
    with pytest.raises(ValueError):
        xsd_bool(word)
    with pytest.raises(values.BadValue):
        values.check("boolean", None, word)


def test_canonical_text():
    assert xsd_text(True) == "true" and xsd_text(False) == "false"
    assert values.check("boolean", None, "1") == "true"
    assert config_to_xsd("yes") == "true" and config_to_xsd("") == "false"
    assert config_to_xsd("garbage") == "false"


def test_config_file_booleans(tmp_path):
    p = tmp_path / "r.conf"
    p.write_text("[acs]\nurl = http://127.0.0.1:1/acs\n[connreq]\nenable = yes\n[stun]\nenable = maybe\n")
    cfg = Config(str(p)) if not hasattr(Config, "load") else Config.load(str(p))
    assert cfg.bool("connreq", "enable") is True
    with pytest.raises(ConfigError):
        cfg.bool("stun", "enable")
