"""The data model's one change event: what audit and notifications receive."""

import pytest

from rocket.datamodel.store import Change


def test_fields_and_tuple_shape():
    c = Change("set", "Device.X.Y", "a", "b")
    assert (c.kind, c.path, c.old, c.new) == ("set", "Device.X.Y", "a", "b")
    kind, path, old, new = c
    assert kind == "set" and new == "b"
    assert Change("add", "Device.T.3.") == ("add", "Device.T.3.", None, None)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        Change("added", "Device.T.3.")


def test_model_reports_each_kind(tmp_path):
    from rocket.base.config import Config
    from rocket.base.statedir import StateDir
    from rocket.datamodel.model import DataModel
    p = tmp_path / "r.conf"
    p.write_text("[acs]\nurl = http://127.0.0.1:1/acs\n[cpe]\nserial_number = S1\n")
    cfg = Config.load(str(p)) if hasattr(Config, "load") else Config(str(p))
    m = DataModel("Device.", StateDir(str(tmp_path / "st")))
    m.build_builtin(cfg)
    seen = []
    m.on_change.append(seen.append)
    ms = "Device.ManagementServer."
    m.set_values([(ms + "PeriodicInformInterval", "600", "unsignedInt")], "k1")
    n, _ = m.add_object(ms + "InformParameter.", "k2")
    m.set_attributes([(ms + "PeriodicInformInterval", 2, None)])
    m.delete_object("%sInformParameter.%d." % (ms, n), "k3")
    kinds = [c.kind for c in seen]
    assert kinds[0] == "set" and seen[0].path == ms + "PeriodicInformInterval" and seen[0].new == "600"
    assert ("add", "%sInformParameter.%d." % (ms, n)) == seen[1][:2]
    assert seen[2] == ("attributes", ms + "PeriodicInformInterval", None, (2, []))
    assert kinds[-1] == "delete" and seen[-1].path == "%sInformParameter.%d." % (ms, n)
    assert all(isinstance(c, Change) for c in seen)


def _queue(tmp_path):
    from rocket.base.statedir import StateDir
    from rocket.cwmp.events import EventQueue
    return EventQueue(StateDir(str(tmp_path / "st")))


def test_event_queue_sync_keeps_others_and_order(tmp_path):
    from rocket.cwmp import events as ev
    q = _queue(tmp_path)
    q.add(ev.PERIODIC)
    q.add(ev.TRANSFER_COMPLETE)
    q.add(ev.M_DOWNLOAD, "old")
    q.add(ev.VALUE_CHANGE)
    q.sync((ev.TRANSFER_COMPLETE, ev.M_DOWNLOAD), [(ev.TRANSFER_COMPLETE, ""), (ev.M_DOWNLOAD, "new")])
    assert q.pending == [(ev.PERIODIC, ""), (ev.TRANSFER_COMPLETE, ""), (ev.VALUE_CHANGE, ""),
                         (ev.M_DOWNLOAD, "new")]
    assert _queue(tmp_path).pending == q.pending  # saved


def test_event_queue_reset_and_changed(tmp_path):
    from rocket.cwmp import events as ev
    q = _queue(tmp_path)
    q.note_changed("Device.A")
    q.note_changed("Device.A")
    q.add(ev.VALUE_CHANGE)
    assert q.changed == ["Device.A"] and _queue(tmp_path).changed == ["Device.A"]
    q.reset(boot=True)
    assert q.pending == [(ev.BOOTSTRAP, ""), (ev.BOOT, "")] and q.changed == []
    q.reset(boot=False)
    assert _queue(tmp_path).pending == [(ev.BOOTSTRAP, "")]
