"""The transfer journal: every accepted transfer and device operation, and
the only writer of their records.

One JSON document in the state directory (``transfers.json``), rewritten
atomically (temp file, fsync, rename, fsync of the directory) through
``StateDir.save`` each time it changes, and always before the RPC that
changed it is answered. A power cut leaves the previous or the new version,
never a mix; a document that does not parse or does not have the expected
shape is moved aside by ``StateDir``, which falls back to the previous
generation (``transfers.json.1``); only when both are damaged does the
journal start empty, never from half a state.

Contents::

    {"seq": 7,                      # last id handed out
     "transfers": [{...}, ...],     # rocket.cwmp.transfer.Transfer.to_dict()
     "informs": [{"id": 3, "key": "k", "at": 1700000000.0, "staged": false}],
     "reboot": {"key": "k", "state": "staged" | "rebooting"} | null,
     "reset": "staged" | "resetting" | null}

Transfers change only by their transitions, run through ``apply`` (which
saves); the other records only through the methods below.

Passwords given with Download/Upload are kept here (the file is 0600, like
the rest of the state directory) because a transfer may have to be started
again after a restart; they never appear in a log.
"""

from rocket.base import journal as base
from rocket.cwmp.transfer import Transfer


def _empty():
    return {"seq": 0, "transfers": [], "informs": [], "reboot": None, "reset": None}


def _valid(doc):
    if not isinstance(doc, dict) or not isinstance(doc.get("seq"), int):
        return False
    if not isinstance(doc.get("transfers"), list) or not isinstance(doc.get("informs"), list):
        return False
    try:
        doc["transfers"] = [Transfer.from_dict(t) for t in doc["transfers"]]
    except (ValueError, TypeError):
        return False
    if not all(isinstance(i, dict) and "at" in i for i in doc["informs"]):
        return False
    r = doc.get("reboot")
    if r is not None and not (isinstance(r, dict) and "key" in r):
        return False
    return doc.get("reset") in (None, "staged", "resetting")


class Journal(base.Journal):
    """The transfer journal (the shared machinery is rocket.base.journal)."""

    NAME = "transfers"
    KEY = "transfers"
    empty = staticmethod(_empty)
    valid = staticmethod(_valid)

    @property
    def transfers(self):
        return self.doc["transfers"]

    @property
    def informs(self):
        return self.doc["informs"]

    def save(self):
        doc = dict(self.doc)
        doc["transfers"] = [t.to_dict() for t in self.transfers]
        self.state.save(self.NAME, doc)

    # --------------------------------------------------------- transfers
    def get(self, tid):
        for t in self.transfers:
            if t.id == tid:
                return t
        return None

    def add(self, t):
        self.transfers.append(t)
        self.save()

    def apply(self, step, *args):
        """Run a transition of a journalled Transfer (``t.begin``...) and
        write it down before returning what the transition returned."""
        r = step(*args)
        self.save()
        return r

    def drop(self, ids):
        """Forget the transfers and informs with these ids (acknowledged,
        cancelled, or dropped by a BOOTSTRAP)."""
        ids = set(ids)
        self.doc["transfers"] = [t for t in self.transfers if t.id not in ids]
        self.doc["informs"] = [i for i in self.informs if i.get("id") not in ids]
        self.save()

    # ---------------------------------------------------- device operations
    def add_inform(self, key, at):
        self.informs.append({"id": self.next_id(), "key": key, "at": at, "staged": True})
        self.save()

    def release(self):
        """The session ended cleanly: what it staged may run."""
        for t in self.transfers:
            if t.state == "staged":
                t.release()
        for i in self.informs:
            i.pop("staged", None)
        self.save()

    @property
    def reboot(self):
        return self.doc.get("reboot")

    def set_reboot(self, key, state):
        self.doc["reboot"] = None if state is None else {"key": key, "state": state}
        self.save()

    @property
    def reset_state(self):
        return self.doc.get("reset")

    def set_reset(self, state):
        self.doc["reset"] = state
        self.save()

    def reset(self):
        """Factory reset: nothing is left but the reset in progress."""
        reset = self.reset_state
        self.clear()
        self.set_reset(reset)
