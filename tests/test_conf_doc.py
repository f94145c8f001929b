"""etc/rocket.conf documents every key of rocket/config.py DEFAULTS, with
its default, under a comment; and the agent accepts the file as it is."""

import configparser
import os

from conftest import ROOT
from rocket.base.config import DEFAULTS, Config

SAMPLE = os.path.join(ROOT, "etc", "rocket.conf")


def test_every_key_is_documented_with_its_default():
    cp = configparser.ConfigParser(interpolation=None)
    cp.read(SAMPLE)
    missing = [(s, k) for s in DEFAULTS for k in DEFAULTS[s] if not cp.has_option(s, k)]
    assert missing == [], "keys not documented in etc/rocket.conf: %s" % missing
    wrong = [(s, k, cp.get(s, k), v) for s in DEFAULTS for k, v in DEFAULTS[s].items()
             if cp.get(s, k) != v]
    assert wrong == [], "etc/rocket.conf shows a default that is not the real one: %s" % wrong
    extra = [(s, k) for s in cp.sections() for k in cp[s] if s in DEFAULTS and k not in DEFAULTS[s]]
    assert extra == [], "etc/rocket.conf documents keys the agent does not know: %s" % extra


def test_every_key_has_a_comment_above_it():
    section, previous = None, ""
    undocumented = []
    for line in open(SAMPLE, encoding="utf-8"):
        text = line.strip()
        if text.startswith("["):
            section = text.strip("[]")
        elif text and not text.startswith(("#", ";")):
            key = text.split("=", 1)[0].strip()
            if not previous.startswith("#") and previous != "KEY":
                undocumented.append((section, key))
            previous = "KEY"  # keys grouped right under one comment share it
            continue
        previous = text
    assert undocumented == []


def test_sample_loads_and_validates():
    cfg = Config.load(SAMPLE)
    cfg.validate()
