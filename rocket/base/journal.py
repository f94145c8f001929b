"""A journal of device operations: one JSON document in the state directory
with a sequence number and a list of records (each with an ``id``),
rewritten atomically (temp file, fsync, rename, fsync of the directory)
through ``StateDir.save`` each time it changes, and always before the RPC
that changed it is answered. A power cut leaves the previous or the new
version, never a mix; a document that does not parse or does not have the
expected shape is moved aside by ``StateDir`` and the journal starts from
the previous generation or empty, never from half a state.

What it is not: what the records mean. Subclasses name the file (``NAME``),
the record list (``KEY``) and the document's shape (``empty``, ``valid``):
rocket.ops.journal (transfers and device operations), rocket.swmod
(ChangeDUState).
"""


class Journal:
    NAME = ""
    KEY = ""

    @staticmethod
    def empty():
        raise NotImplementedError

    @staticmethod
    def valid(doc):
        raise NotImplementedError

    def __init__(self, state):
        self.state = state
        doc = state.load(self.NAME, None, self.valid)
        self.doc = doc or self.empty()

    def next_id(self):
        self.doc["seq"] += 1
        return self.doc["seq"]

    def get(self, tid):
        for t in self.doc[self.KEY]:
            if t["id"] == tid:
                return t
        return None

    def remove(self, tid):
        self.doc[self.KEY] = [t for t in self.doc[self.KEY] if t["id"] != tid]

    def save(self):
        """Durably write the journal (no-op when nothing changed)."""
        self.state.save(self.NAME, self.doc)

    def clear(self):
        seq = self.doc["seq"]
        self.doc = self.empty()
        self.doc["seq"] = seq
        self.save()
