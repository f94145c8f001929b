"""The Transfer record's rules (rocket.cwmp.transfer) as tables: every
transition from every state, the time windows, restarts, the result of an
install after a restart, and what a saved record keeps. No sockets, no files."""

import pytest

from rocket.cwmp import transfer as T
from rocket.cwmp.transfer import Transfer, TransitionError

NOW = "2026-01-01T00:00:00Z"
LATER = "2026-01-01T00:05:00Z"

# transition -> (arguments, the states it is legal in, the state it leads to)
STEPS = {
    "release": ((), {T.STAGED: T.QUEUED}),
    "begin": ((NOW, "/dl/transfer-1.part"), {T.QUEUED: T.RUNNING}),
    "interrupted": ((NOW,), {T.RUNNING: T.QUEUED}),
    "failed": ((9015, "no server", LATER), {T.RUNNING: T.DONE}),
    "install": ((LATER, "1.0"), {T.RUNNING: T.INSTALLING}),
    "installed": ((), {T.INSTALLING: T.INSTALLED}),
    "settle": (("2.0", True, LATER), {T.INSTALLING: T.DONE, T.INSTALLED: T.DONE}),
    "finish": ((0, "", LATER), {T.QUEUED: T.DONE, T.RUNNING: T.DONE, T.INSTALLING: T.DONE,
                                T.INSTALLED: T.DONE}),
}


def record(state, **kw):
    fields = dict(id=1, kind="download", state=state, key="k", file_type="1 Firmware Upgrade Image",
                  url="http://f/x", username="u", password="secret")
    fields.update(kw)
    return Transfer(**fields)


@pytest.mark.parametrize("step", sorted(STEPS))
@pytest.mark.parametrize("state", T.STATES)
def test_every_transition_from_every_state(step, state):
    args, legal = STEPS[step]
    t = record(state)
    if state in legal:
        getattr(t, step)(*args)
        assert t.state == legal[state]
    else:
        with pytest.raises(TransitionError):
            getattr(t, step)(*args)
        assert t.state == state  # an illegal step changes nothing


@pytest.mark.parametrize("state,cancellable,number", [
    (T.STAGED, True, 1), (T.QUEUED, True, 1), (T.RUNNING, False, 2), (T.INSTALLING, False, 2),
    (T.INSTALLED, False, 2), (T.DONE, False, 3)])
def test_cancel_rule_and_queue_state(state, cancellable, number):
    t = record(state)
    assert t.cancellable is cancellable and T.QUEUE_STATE[state] == number


def test_a_life_keeps_times_and_drops_secrets():
    t = record(T.STAGED)
    t.release()
    t.begin(NOW, "/dl/x.part")
    assert (t.attempts, t.start, t.file) == (1, NOW, "/dl/x.part")
    t.install(LATER, "1.0")
    assert (t.complete, t.fault, t.sw_before) == (LATER, [0, ""], "1.0")
    t.installed()
    t.settle("2.0", True, "2026-01-01T01:00:00Z")
    assert t.state == T.DONE and t.fault == [0, ""] and t.complete == LATER
    assert (t.username, t.password, t.file, t.sw_before, t.windows) == ("", "", None, None, None)


@pytest.mark.parametrize("kind,final,state,last_error", [
    ("download", True, T.DONE, ""), ("upload", True, T.DONE, ""),
    ("schedule", False, T.QUEUED, "9016 gone")])
def test_failure_is_final_except_for_a_scheduled_download(kind, final, state, last_error):
    t = record(T.RUNNING, kind=kind, start=NOW)
    assert t.failed(9016, "gone", LATER) is final
    assert (t.state, t.last_error) == (state, last_error)
    if final:
        assert t.fault == [9016, "gone"] and t.complete == LATER


@pytest.mark.parametrize("restarts,again,state,fault", [
    (0, True, T.QUEUED, None), (2, True, T.QUEUED, None),
    (T.MAX_RESTARTS, False, T.DONE, [9017, "interrupted 3 times"])])
def test_interrupted_runs_start_again_three_times(restarts, again, state, fault):
    t = record(T.RUNNING, restarts=restarts, start=NOW, file="/dl/part")
    assert t.interrupted(LATER) is again
    assert (t.state, t.fault, t.file, t.restarts) == (state, fault, None, restarts + 1)


@pytest.mark.parametrize("file_type,state,before,now,boot,code", [
    ("1 Firmware Upgrade Image", T.INSTALLED, "1.0", "2.0", True, 0),
    ("1 Firmware Upgrade Image", T.INSTALLING, "1.0", "2.0", False, 0),
    ("1 Firmware Upgrade Image", T.INSTALLED, "1.0", "1.0", True, 9018),
    ("1 Firmware Upgrade Image", T.INSTALLING, "1.0", "1.0", True, 9018),
    ("1 Firmware Upgrade Image", T.INSTALLED, "1.0", "1.0", False, 9018),
    ("1 Firmware Upgrade Image", T.INSTALLING, "1.0", "1.0", False, 9010),
    ("1 Firmware Upgrade Image", T.INSTALLING, "1.0", "", True, 9018),
    ("3 Vendor Configuration File", T.INSTALLING, None, "1.0", False, 0),
])
def test_settle_after_restart(file_type, state, before, now, boot, code):
    t = record(state, file_type=file_type, sw_before=before, fault=[0, ""], start=NOW, complete=NOW)
    t.settle(now, boot, LATER)
    assert t.state == T.DONE and t.fault_code == code


W1 = {"start": 100, "end": 200, "mode": "1 At Any Time", "message": "", "max_retries": 1}
W2 = {"start": 300, "end": 400, "mode": "2 Immediately", "message": "", "max_retries": -1}
CONFIRM = {"start": 0, "end": 1000, "mode": "4 Confirmation Needed", "message": "", "max_retries": 5}
VENDOR = {"start": 0, "end": 1000, "mode": "X 00D09E Later", "message": "", "max_retries": 5}


@pytest.mark.parametrize("windows,times,verdicts", [
    ([W1], [50], [("wait", 100)]),
    ([W1], [150, 150, 150], [("run", None), ("run", None), ("expired", None)]),  # 1 + MaxRetries tries
    ([W1], [200], [("expired", None)]),  # the end is outside
    ([W1, W2], [150, 150, 150], [("run", None), ("run", None), ("wait", 300)]),
    ([W1, W2], [350] * 4, [("run", None)] * 3 + [("expired", None)]),  # -1: the CPE's choice, 3 tries
    ([CONFIRM], [10], [("expired", None)]),
    ([VENDOR, W2], [10], [("wait", 300)]),
])
def test_schedule_download_windows(windows, times, verdicts):
    t = record(T.QUEUED, kind="schedule", windows=windows)
    assert [t.due(now) for now in times] == verdicts


@pytest.mark.parametrize("not_before,now,verdict", [(0, 5, ("run", None)), (10, 5, ("wait", 10)),
                                                    (10, 10, ("run", None))])
def test_download_delay(not_before, now, verdict):
    assert record(T.QUEUED, not_before=not_before).due(now) == verdict


def test_saved_record_round_trips_and_old_staged_flag_is_read():
    t = record(T.RUNNING, start=NOW, attempts=1, windows=[W1])
    d = t.to_dict()
    assert d["state"] == "running" and "complete" not in d  # defaults are not written
    back = Transfer.from_dict(d)
    assert back.to_dict() == d
    assert Transfer.from_dict({"id": 2, "state": "queued", "staged": True}).state == T.STAGED
    for bad in ({"state": "queued"}, {"id": 1, "state": "paused"}, {"id": 1, "state": "done", "colour": 1},
                {"id": 1, "state": "done", "kind": "teleport"}):
        with pytest.raises((ValueError, TypeError)):
            Transfer.from_dict(bad)


@pytest.mark.parametrize("file_type,table,parsed", [
    ("1 Firmware Upgrade Image", T.DOWNLOAD_TYPES, ("1", "")),
    ("3 Vendor Configuration File 2", T.UPLOAD_TYPES, ("3", "2")),
    ("3 Vendor Configuration File 2", T.DOWNLOAD_TYPES, None),
    ("2 Vendor Log File x", T.UPLOAD_TYPES, None),
    ("9 Firmware Upgrade Image", T.DOWNLOAD_TYPES, None),
    ("X 00D09E Thing", T.DOWNLOAD_TYPES, None),
])
def test_file_type_numbers(file_type, table, parsed):
    assert T.type_number(file_type, table) == parsed
