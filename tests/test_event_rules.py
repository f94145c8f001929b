"""The event queue's rules as tables (rocket.cwmp.events and the README's
"Event rules"), one parametrized test per table, no sockets. The end-to-end
tests (test_session_flow, test_connreq, test_transfer...) check the same
rules through a running agent."""

import pytest

from rocket.base.statedir import StateDir
from rocket.cwmp import events as ev


def queue(tmp_path, *events):
    q = ev.EventQueue(StateDir(str(tmp_path / "state")))
    for code, key in events:
        q.add(code, key)
    return q


def reloaded(tmp_path):
    """A fresh queue over the same state directory: what was persisted."""
    return ev.EventQueue(StateDir(str(tmp_path / "state")))


# ------------------------------------------------------- single / multiple
# code, CommandKeys added in turn, pending afterwards
SINGLE_MULTIPLE = [
    (ev.BOOTSTRAP, ["", ""], [(ev.BOOTSTRAP, "")]),
    (ev.BOOT, ["", ""], [(ev.BOOT, "")]),
    (ev.PERIODIC, ["", "", ""], [(ev.PERIODIC, "")]),
    (ev.SCHEDULED, ["", ""], [(ev.SCHEDULED, "")]),
    (ev.VALUE_CHANGE, ["", ""], [(ev.VALUE_CHANGE, "")]),
    (ev.CONNECTION_REQUEST, ["", ""], [(ev.CONNECTION_REQUEST, "")]),
    (ev.TRANSFER_COMPLETE, ["", ""], [(ev.TRANSFER_COMPLETE, "")]),
    (ev.DIAGNOSTICS_COMPLETE, ["", ""], [(ev.DIAGNOSTICS_COMPLETE, "")]),
    # a single event has no CommandKey: one given is not kept
    (ev.PERIODIC, ["k1", "k2"], [(ev.PERIODIC, "")]),
    # multiple events: one per CommandKey, the same key once
    (ev.M_REBOOT, ["a", "b", "a"], [(ev.M_REBOOT, "a"), (ev.M_REBOOT, "b")]),
    (ev.M_SCHEDULE_INFORM, ["x", "y"], [(ev.M_SCHEDULE_INFORM, "x"), (ev.M_SCHEDULE_INFORM, "y")]),
    (ev.M_DOWNLOAD, ["d", "d"], [(ev.M_DOWNLOAD, "d")]),
    (ev.M_UPLOAD, ["", "u"], [(ev.M_UPLOAD, ""), (ev.M_UPLOAD, "u")]),
    (ev.M_SCHEDULE_DOWNLOAD, ["s1", "s2"], [(ev.M_SCHEDULE_DOWNLOAD, "s1"),
                                            (ev.M_SCHEDULE_DOWNLOAD, "s2")]),
    (ev.M_CHANGE_DU_STATE, ["c", "c"], [(ev.M_CHANGE_DU_STATE, "c")]),
]


@pytest.mark.parametrize("code,keys,expected", SINGLE_MULTIPLE)
def test_single_and_multiple(tmp_path, code, keys, expected):
    q = queue(tmp_path, *[(code, k) for k in keys])
    assert q.pending == expected
    assert ev.is_multiple(code) == code.startswith("M ")
    assert reloaded(tmp_path).pending == expected  # persisted as it is


# ---------------------------------------------------------------- delivery
# code, dropped by the InformResponse of the session that carried it,
# and what delivers it otherwise (the codes passed to ``deliver``)
DELIVERY = [
    (ev.BOOTSTRAP, True, None),
    (ev.BOOT, True, None),
    (ev.PERIODIC, True, None),
    (ev.SCHEDULED, True, None),
    (ev.VALUE_CHANGE, True, None),
    (ev.CONNECTION_REQUEST, True, None),
    (ev.DIAGNOSTICS_COMPLETE, True, None),
    (ev.M_REBOOT, True, None),
    (ev.M_SCHEDULE_INFORM, True, None),
    # the last pending TransferCompleteResponse
    (ev.TRANSFER_COMPLETE, False, (ev.TRANSFER_COMPLETE,)),
    (ev.M_DOWNLOAD, False, (ev.M_DOWNLOAD,)),
    (ev.M_UPLOAD, False, (ev.M_UPLOAD,)),
    (ev.M_SCHEDULE_DOWNLOAD, False, (ev.M_SCHEDULE_DOWNLOAD,)),
    # the AutonomousTransferCompleteResponses
    (ev.AUTONOMOUS_TRANSFER_COMPLETE, False, (ev.AUTONOMOUS_TRANSFER_COMPLETE,)),
    # the DUStateChangeCompleteResponses (software modules)
    (ev.DU_STATE_CHANGE_COMPLETE, False, (ev.DU_STATE_CHANGE_COMPLETE,)),
    (ev.M_CHANGE_DU_STATE, False, (ev.M_CHANGE_DU_STATE,)),
    (ev.AUTONOMOUS_DU_STATE_CHANGE_COMPLETE, False, (ev.AUTONOMOUS_DU_STATE_CHANGE_COMPLETE,)),
    # their RPCs (RequestDownload, Kicked)
    (ev.REQUEST_DOWNLOAD, False, (ev.REQUEST_DOWNLOAD,)),
    (ev.KICKED, False, (ev.KICKED,)),
]


@pytest.mark.parametrize("code,by_inform,owner", DELIVERY)
def test_delivery(tmp_path, code, by_inform, owner):
    key = "ck" if ev.is_multiple(code) else ""
    q = queue(tmp_path, (code, key), (ev.PERIODIC, ""))
    sent = q.for_inform()
    assert (code, key) in sent
    q.delivered_by_inform(sent)
    assert q.has(code) != by_inform
    assert not q.has(ev.PERIODIC)
    assert reloaded(tmp_path).has(code) != by_inform
    if owner is not None:
        if ev.is_multiple(code):
            q.add(code, "other")
            q.deliver(owner, key)  # one CommandKey: the other stays
            assert q.pending == [(code, "other")]
        q.deliver(owner)
        assert q.pending == []
        assert reloaded(tmp_path).pending == []


# ------------------------------------------------------- failed session
# code, still pending after the session that carried it failed
FAILED_SESSION = [
    (ev.BOOTSTRAP, True),
    (ev.BOOT, True),
    (ev.PERIODIC, True),
    (ev.SCHEDULED, True),
    (ev.M_REBOOT, True),
    (ev.M_SCHEDULE_INFORM, True),
    (ev.VALUE_CHANGE, True),
    (ev.DIAGNOSTICS_COMPLETE, True),
    (ev.CONNECTION_REQUEST, False),  # never retried
    (ev.TRANSFER_COMPLETE, True),
    (ev.M_DOWNLOAD, True),
    (ev.M_UPLOAD, True),
    (ev.M_SCHEDULE_DOWNLOAD, True),
    (ev.AUTONOMOUS_TRANSFER_COMPLETE, True),
    (ev.DU_STATE_CHANGE_COMPLETE, True),
    (ev.REQUEST_DOWNLOAD, True),
    (ev.KICKED, True),
]


@pytest.mark.parametrize("code,kept", FAILED_SESSION)
def test_failed_session(tmp_path, code, kept):
    key = "ck" if ev.is_multiple(code) else ""
    q = queue(tmp_path, (code, key))
    q.for_inform()
    q.session_failed()
    assert q.has(code) == kept
    assert reloaded(tmp_path).has(code) == kept
    # the same event, new during the failing session: kept for the next one
    q.for_inform()
    q.add(code, key)
    q.session_failed()
    assert q.has(code) == kept or code == ev.CONNECTION_REQUEST
    if code == ev.CONNECTION_REQUEST:
        assert q.has(code)


# ---------------------------------------------------- reboot and restart
# code, pending after a reboot, pending after a plain restart of the agent
REBOOT = [
    (ev.BOOTSTRAP, True, True),
    (ev.PERIODIC, True, True),
    (ev.SCHEDULED, True, True),
    (ev.M_REBOOT, True, True),
    (ev.M_SCHEDULE_INFORM, True, True),
    (ev.VALUE_CHANGE, False, True),
    (ev.DIAGNOSTICS_COMPLETE, False, True),
    (ev.CONNECTION_REQUEST, False, False),
    (ev.TRANSFER_COMPLETE, True, True),
    (ev.M_DOWNLOAD, True, True),
    (ev.M_UPLOAD, True, True),
    (ev.M_SCHEDULE_DOWNLOAD, True, True),
    (ev.AUTONOMOUS_TRANSFER_COMPLETE, True, True),
    (ev.DU_STATE_CHANGE_COMPLETE, True, True),
    (ev.REQUEST_DOWNLOAD, True, True),
    (ev.KICKED, True, True),
]


@pytest.mark.parametrize("boot", [True, False], ids=["reboot", "restart"])
@pytest.mark.parametrize("code,after_reboot,after_restart", REBOOT)
def test_reboot_and_restart(tmp_path, code, after_reboot, after_restart, boot):
    key = "ck" if ev.is_multiple(code) else ""
    q = queue(tmp_path, (code, key))
    if code == ev.VALUE_CHANGE:
        q.note_changed("Device.X.Y")
    q.save()
    q = reloaded(tmp_path)
    q.on_start(boot)
    kept = after_reboot if boot else after_restart
    assert q.has(code) == kept
    # "1 BOOT" is the new boot's, exactly one, and only on a reboot
    assert [e for e in q.pending if e[0] == ev.BOOT] == ([(ev.BOOT, "")] if boot else [])
    if code == ev.VALUE_CHANGE:
        assert reloaded(tmp_path).changed == (["Device.X.Y"] if kept else [])
    assert reloaded(tmp_path).pending == q.pending


def test_reboot_replaces_the_old_boot(tmp_path):
    q = queue(tmp_path, (ev.BOOT, ""), (ev.PERIODIC, ""))
    q = reloaded(tmp_path)
    q.on_start(True)
    assert q.pending == [(ev.PERIODIC, ""), (ev.BOOT, "")]
    q = reloaded(tmp_path)
    q.on_start(False)
    assert q.pending == [(ev.PERIODIC, ""), (ev.BOOT, "")]  # a restart keeps the undelivered boot


# --------------------------------------------------- BOOTSTRAP discards
# code, still pending once "0 BOOTSTRAP" is added
BOOTSTRAP_DISCARDS = [
    (ev.BOOT, True),  # the same start's
    (ev.PERIODIC, False),
    (ev.SCHEDULED, False),
    (ev.VALUE_CHANGE, False),
    (ev.CONNECTION_REQUEST, False),
    (ev.DIAGNOSTICS_COMPLETE, False),
    (ev.M_REBOOT, False),
    (ev.M_SCHEDULE_INFORM, False),
    (ev.REQUEST_DOWNLOAD, False),
    (ev.KICKED, False),
    (ev.AUTONOMOUS_TRANSFER_COMPLETE, False),
    # tied to a pending TransferComplete / DUStateChangeComplete: never lost
    (ev.TRANSFER_COMPLETE, True),
    (ev.M_DOWNLOAD, True),
    (ev.M_UPLOAD, True),
    (ev.M_SCHEDULE_DOWNLOAD, True),
    (ev.DU_STATE_CHANGE_COMPLETE, True),
    (ev.M_CHANGE_DU_STATE, True),
    (ev.AUTONOMOUS_DU_STATE_CHANGE_COMPLETE, True),
]


@pytest.mark.parametrize("code,kept", BOOTSTRAP_DISCARDS)
def test_bootstrap_discards(tmp_path, code, kept):
    key = "ck" if ev.is_multiple(code) else ""
    q = queue(tmp_path, (code, key))
    if code == ev.VALUE_CHANGE:
        q.note_changed("Device.X.Y")
    q.add(ev.BOOTSTRAP)
    expected = ([(code, key)] if kept else []) + [(ev.BOOTSTRAP, "")]
    assert q.pending == expected
    assert q.changed == []
    assert reloaded(tmp_path).pending == expected
    # a factory reset keeps nothing but BOOTSTRAP (and BOOT on a boot)
    q.reset(boot=True)
    assert q.pending == [(ev.BOOTSTRAP, ""), (ev.BOOT, "")]


# ------------------------------------------------------- Inform contents
# pending events (in the order they happened), events of the next Inform
INFORM = [
    ([ev.BOOTSTRAP, ev.PERIODIC, ev.BOOT], [ev.BOOTSTRAP, ev.BOOT, ev.PERIODIC]),
    ([ev.M_REBOOT, ev.BOOT, ev.VALUE_CHANGE], [ev.BOOT, ev.VALUE_CHANGE, ev.M_REBOOT]),
    ([ev.AUTONOMOUS_TRANSFER_COMPLETE, ev.TRANSFER_COMPLETE],
     [ev.TRANSFER_COMPLETE, ev.AUTONOMOUS_TRANSFER_COMPLETE]),  # numbers, not text, order them
    ([ev.M_SCHEDULE_INFORM] * 70, [ev.M_SCHEDULE_INFORM] * ev.MAX_PER_INFORM),  # 64 at most
]


@pytest.mark.parametrize("codes,expected", INFORM)
def test_inform_contents(tmp_path, codes, expected):
    q = queue(tmp_path, *[(c, str(i) if ev.is_multiple(c) else "") for i, c in enumerate(codes)])
    sent = q.for_inform()
    assert [c for c, _ in sent] == expected
    q.delivered_by_inform(sent)
    # the rest (and what the InformResponse does not deliver) wait
    assert len(q.pending) == len(codes) - len([c for c in expected if c not in ev.LATE_DELIVERY])
