"""The transfer journal: every accepted transfer and device operation.

One JSON document in the state directory (``transfers.json``), rewritten
atomically (temp file, fsync, rename, fsync of the directory) through
``StateDir.save`` each time it changes, and always before the RPC that
changed it is answered. A power cut leaves the previous or the new version,
never a mix; a document that does not parse or does not have the expected
shape is moved aside by ``StateDir``, which falls back to the previous
generation (``transfers.json.1``); only when both are damaged does the
journal start empty, never from half a state.

Contents::

    {"seq": 7,                      # last transfer id handed out
     "transfers": [{...}, ...],     # see rocket.ops.transfer for the fields
     "informs": [{"key": "k", "at": 1700000000.0, "staged": false}],
     "reboot": {"key": "k", "state": "staged" | "rebooting"} | null,
     "reset": "staged" | "resetting" | null}

Passwords given with Download/Upload are kept here (the file is 0600, like
the rest of the state directory) because a transfer may have to be started
again after a restart; they never appear in a log.
"""

from rocket.base import journal as base

NAME = "transfers"


def _empty():
    return {"seq": 0, "transfers": [], "informs": [], "reboot": None, "reset": None}


def _valid(doc):
    if not isinstance(doc, dict):
        return False
    if not isinstance(doc.get("seq"), int):
        return False
    if not isinstance(doc.get("transfers"), list) or not isinstance(doc.get("informs"), list):
        return False
    if not all(isinstance(t, dict) and "id" in t and "state" in t for t in doc["transfers"]):
        return False
    if not all(isinstance(i, dict) and "at" in i for i in doc["informs"]):
        return False
    r = doc.get("reboot")
    if r is not None and not (isinstance(r, dict) and "key" in r):
        return False
    return doc.get("reset") in (None, "staged", "resetting")


class Journal(base.Journal):
    """The transfer journal (the shared machinery is rocket.base.journal)."""

    NAME = NAME
    KEY = "transfers"
    empty = staticmethod(_empty)
    valid = staticmethod(_valid)

    @property
    def transfers(self):
        return self.doc["transfers"]

    @property
    def informs(self):
        return self.doc["informs"]
