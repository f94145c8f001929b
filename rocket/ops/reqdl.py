"""RequestDownload (TR-069 A.4.2.2): the CPE asks the ACS for a file.

Rules:

- Asked for locally: ``rocket.pyz ctl request-download FILETYPE
  [NAME=VALUE...]`` (FileType as the schema allows: "1 Firmware Upgrade
  Image", "3 Vendor Configuration File", "X <OUI> <name>"...; at most 16
  FileTypeArg entries, names up to 64 and values up to 256 characters). The
  request is kept in ``reqdl.json`` (at most MAX_PENDING) and a session with
  "9 REQUEST DOWNLOAD" starts.
- The event is delivered by the RequestDownloadResponse, not by the
  InformResponse: it stays pending until every queued request was answered.
- An ACS fault (other than 8005, which the session machine resends) leaves
  the request for the next session; after MAX_TRIES sessions that did not
  acknowledge it, it is dropped with a log line, so a request an ACS does not
  support cannot ride along for ever.

Not here: what the ACS then does (a Download RPC, rocket.ops.transfer_rpcs).
"""

import re

from rocket.base.log import log
from rocket.cwmp import events as ev
from rocket.cwmp.soap import array, esc

MAX_PENDING = 4
MAX_TRIES = 5
_FILE_TYPE = re.compile(r"^(?:[1-9]\d*( \S+)+|X \S+ .+)$")
_DOC = {"seq": int, "reqs": [{"id": int, "type": str, "args": [[str]], "tries": int}]}


class RequestDownloads:
    def __init__(self, agent):
        self.agent = agent
        self.doc = agent.state.load("reqdl", {"seq": 0, "reqs": []}, _DOC)

    def install(self):
        a = self.agent
        a.cpe_requests.append(self._requests)
        a.acked["RequestDownload"] = self._acked
        a.after_session.append(self._after_session)
        a.ctl.handlers["request-download"] = self._ctl
        if not self.doc["reqs"] and a.events.has(ev.REQUEST_DOWNLOAD):
            a.events.deliver((ev.REQUEST_DOWNLOAD,))  # nothing left to deliver it

    def _ctl(self, rest):
        from rocket.owner.ctl import RequestError, unescape
        items = [unescape(x) for x in rest.split("\t")] if rest else []
        if not items or len(items[0]) > 64 or not _FILE_TYPE.match(items[0]):
            raise RequestError("usage: request-download FILETYPE [NAME=VALUE...]; FILETYPE like "
                               "'1 Firmware Upgrade Image' or 'X <OUI> <name>' (at most 64 characters)")
        args = []
        for x in items[1:]:
            name, eq, value = x.partition("=")
            if not eq or not name or len(name) > 64 or len(value) > 256:
                raise RequestError("expected NAME=VALUE (name 1-64, value up to 256 characters), got %r"
                                   % x[:80])
            args.append([name, value])
        if len(args) > 16:
            raise RequestError("at most 16 NAME=VALUE arguments")
        reqs = self.doc["reqs"]
        if len(reqs) >= MAX_PENDING:
            raise RequestError("%d requests already wait for the ACS" % len(reqs))
        self.doc["seq"] += 1
        reqs.append({"id": self.doc["seq"], "type": items[0], "args": args, "tries": 0})
        self._save()
        log.info("request-download %d: %s (%d argument%s) queued", self.doc["seq"], items[0], len(args),
                 "" if len(args) == 1 else "s")
        self.agent.audit.record("request_download", file_type=items[0], args=[n for n, _ in args])
        self.agent.add_event(ev.REQUEST_DOWNLOAD)
        return ["queued %d" % self.doc["seq"]]

    def _requests(self):
        from rocket.cwmp.session import CpeRequest
        out = []
        for r in self.doc["reqs"]:
            r["tries"] += 1
            args = ["<ArgStruct><Name>%s</Name><Value>%s</Value></ArgStruct>" % (esc(n), esc(v))
                    for n, v in r["args"]]
            inner = "<FileType>%s</FileType>%s" % (esc(r["type"]),
                                                   array("FileTypeArg", "cwmp:ArgStruct", args, len(args)))
            out.append(CpeRequest("RequestDownload", inner, r["id"]))
        if out:
            self._save()
        return out

    def _acked(self, tag):
        reqs = self.doc["reqs"]
        self.doc["reqs"] = [r for r in reqs if r["id"] != tag]
        self._save()
        log.info("request-download %s: acknowledged by the ACS", tag)
        self._deliver_if_done()

    def _after_session(self, ok):
        keep = []
        for r in self.doc["reqs"]:
            if r["tries"] >= MAX_TRIES:
                log.warning("request-download %d: %s dropped: not acknowledged in %d sessions",
                            r["id"], r["type"], r["tries"])
            else:
                keep.append(r)
        if len(keep) != len(self.doc["reqs"]):
            self.doc["reqs"] = keep
            self._save()
            self._deliver_if_done()

    def _deliver_if_done(self):
        if not self.doc["reqs"]:
            self.agent.events.deliver((ev.REQUEST_DOWNLOAD,))

    def _save(self):
        self.agent.state.save("reqdl", self.doc)


def install(agent):
    if agent.ctl is not None:
        RequestDownloads(agent).install()
