"""Booleans written as text: the one place that knows which words mean true.

Two dialects. The configuration and policy files accept what people write
in INI files (``yes``/``no``, ``on``/``off``, ``true``/``false``, ``1``/``0``);
CWMP carries xsd:boolean, which is ``true``/``false``/``1``/``0`` only.
Nothing here reads files or keeps state.
"""

CONFIG_TRUE = ("1", "true", "yes", "on")
CONFIG_FALSE = ("0", "false", "no", "off")
XSD_TRUE = ("true", "1")
XSD_FALSE = ("false", "0")


def config_bool(s):
    """A configuration word -> True/False; ValueError for anything else."""
    v = (s or "").strip().lower()
    if v in CONFIG_TRUE:
        return True
    if v in CONFIG_FALSE:
        return False
    raise ValueError("not yes or no: %r" % (s,))


def xsd_bool(s):
    """xsd:boolean, leniently: true/false/1/0 in any case, spaces trimmed."""
    v = (s or "").strip().lower()
    if v in XSD_TRUE:
        return True
    if v in XSD_FALSE:
        return False
    raise ValueError("not a boolean: %r" % (s,))


def xsd_text(flag):
    """True/False -> the canonical xsd:boolean text."""
    return "true" if flag else "false"


def config_to_xsd(s):
    """A configuration word -> canonical xsd:boolean text (unknown words, and
    an empty value, read as false)."""
    return xsd_text((s or "").strip().lower() in CONFIG_TRUE)
