"""Device.DeviceInfo.DeviceImageFile.{i}: pictures of the device that its
firmware ships, named in the configuration.

What it is for: ``[cpe] device_images`` lists ``LOCATION=PATH`` entries
(``Front=/usr/share/rocket/front.png Back=/usr/share/rocket/back.jpg``);
LOCATION is one of TR-181's six (Front, Back, Left, Right, Top, Bottom, any
case) and PATH an absolute path to a PNG, JPEG or GIF file of at most
``MAX_BYTES``. An ACS shows them beside the device. Nothing on a router
makes such pictures: without the key the table is empty (the built-in
tree's DeviceImageNumberOfEntries, 0).
Not for: checking that a file is a whole, valid image. Its first bytes
must be a PNG, JPEG or GIF signature, that is all.

Rules:

- The instance number of an entry is its position in the key (1, 2...),
  so it never changes while the configuration does not; an entry that is
  refused at start (unknown or repeated location, not an absolute path,
  missing, too big, not an image) is left out with one log line and its
  number stays unused.
- ``Image`` is read and base64-encoded when asked, never held: a file the
  firmware replaces is served as it is now. A file that has become
  unreadable is served empty, with one log line.
- TR-098 (``InternetGatewayDevice``) has no such table: the key is then
  ignored with one log line.
"""

import base64
import os

from rocket.base.log import log
from rocket.datamodel.store import Param

LOCATIONS = ("Front", "Back", "Left", "Right", "Top", "Bottom")
MAX_BYTES = 256 * 1024
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a")


def parse(text):
    """'front=/a.png Back=/b.jpg' -> ([(1, 'Front', '/a.png'), (2, 'Back', '/b.jpg')], [errors])."""
    rows, errors, seen = [], [], set()
    for n, entry in enumerate(text.split(), 1):
        where, eq, path = entry.partition("=")
        loc = next((x for x in LOCATIONS if x.lower() == where.lower()), None)
        if not eq or loc is None:
            errors.append("%r is not LOCATION=PATH with LOCATION one of %s" % (entry[:80], ", ".join(LOCATIONS)))
        elif loc in seen:
            errors.append("%s is named twice" % loc)
        elif not path.startswith("/"):
            errors.append("%s: %r is not an absolute path" % (loc, path[:80]))
        else:
            seen.add(loc)
            rows.append((n, loc, path))
    return rows, errors


def check(path):
    """None when PATH is an image this table can serve, else the reason."""
    try:
        with open(path, "rb") as f:
            head = f.read(8)
            size = os.fstat(f.fileno()).st_size
    except OSError as e:
        return e.strerror or str(e)
    if size > MAX_BYTES:
        return "%d bytes, more than %d" % (size, MAX_BYTES)
    if not head.startswith(_SIGNATURES):
        return "not a PNG, JPEG or GIF file"
    return None


def _image(path):
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except OSError as e:
        log.warning("DeviceImageFile: %s unreadable (%s); served empty", path, e.strerror or e)
        return ""
    if len(data) > MAX_BYTES:
        log.warning("DeviceImageFile: %s grew beyond %d bytes; served empty", path, MAX_BYTES)
        return ""
    return base64.b64encode(data).decode("ascii")


class DeviceImages:
    """A backend-like owner of the configured table, built once from the
    configuration."""

    name = "deviceimages"

    def __init__(self, model, text):
        self.prefixes = []
        rows, errors = parse(text)
        for e in errors:
            log.error("config: [cpe] device_images: %s; left out", e)
        if model.root != "Device.":
            log.error("config: [cpe] device_images: %s has no DeviceImageFile table; ignored", model.root[:-1])
            return
        table = model.root + "DeviceInfo.DeviceImageFile."
        s = model.store
        s.delete(table)  # a static tree's own rows: this table is ours now
        s.add_object(table)  # kept, empty, when every entry is refused
        self.prefixes.append(table)
        served = 0
        for n, loc, path in rows:
            why = check(path)
            if why:
                log.error("config: [cpe] device_images: %s=%s: %s; left out", loc, path, why)
                continue
            inst = "%s%d." % (table, n)
            s.add_object(inst, owner=self.name)
            s.add(inst + "Alias", Param("cpe-" + loc.lower(), "string", owner=self.name))
            s.add(inst + "Location", Param(loc, "string", owner=self.name))
            s.add(inst + "Image", Param("", "base64", owner=self.name))
            model.getters[inst + "Image"] = lambda path=path: _image(path)
            served += 1
        s.add(model.root + "DeviceInfo.DeviceImageNumberOfEntries", Param(str(served), "unsignedInt"))

    def load(self, store):
        pass

    def apply(self):
        pass


def install(agent):
    di = DeviceImages(agent.model, agent.cfg.get("cpe", "device_images"))
    if di.prefixes:
        agent.model.add_backend(di)
