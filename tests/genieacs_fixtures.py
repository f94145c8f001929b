"""The exact GenieACS 1.2.16 ACS->CPE envelopes, as fixtures.

tests/fixtures/genieacs/*.xml were cut from ../shared/docs/genieacs-messages.md
(the code blocks marked "exact bytes", one file per section title) by
``extract()``; a test checks they still match the document when it is there.
"""

import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
DIR = os.path.join(HERE, "fixtures", "genieacs")


def extract(doc):
    """{section-name: exact bytes} from the markdown text."""
    out = {}
    title = None
    for m in re.finditer(r"^### ([^\n]+)$|^exact bytes:\n\n```xml\n(.*?)\n```", doc, re.M | re.S):
        if m.group(1):
            title = m.group(1).strip()
        else:
            name = re.sub(r"[^A-Za-z]+", "-", title).strip("-")
            assert name not in out, name
            out[name] = m.group(2).encode()
    return out


def load():
    out = {}
    for fn in sorted(os.listdir(DIR)):
        with open(os.path.join(DIR, fn), "rb") as f:
            out[fn[:-4]] = f.read()
    return out


if __name__ == "__main__":
    import sys
    with open(sys.argv[1], encoding="utf-8") as f:
        for name, data in extract(f.read()).items():
            with open(os.path.join(DIR, name + ".xml"), "wb") as g:
                g.write(data)
