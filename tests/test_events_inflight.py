"""Events that happen again while the Inform that carries them is in flight."""

from rocket.cwmp import events as ev
from rocket.base.statedir import StateDir


def _queue(tmp_path):
    return ev.EventQueue(StateDir(str(tmp_path / "state")))


def test_connection_request_during_session_survives_the_inform_response(tmp_path):
    q = _queue(tmp_path)
    q.add(ev.CONNECTION_REQUEST)
    sent = q.for_inform()
    q.add(ev.CONNECTION_REQUEST)  # a second request while the session runs
    q.delivered_by_inform(sent)
    assert q.has(ev.CONNECTION_REQUEST)  # the follow-up session carries it
    sent = q.for_inform()
    q.delivered_by_inform(sent)
    assert not q.has(ev.CONNECTION_REQUEST)


def test_without_a_new_request_the_inform_response_delivers_it(tmp_path):
    q = _queue(tmp_path)
    q.add(ev.CONNECTION_REQUEST)
    q.add(ev.PERIODIC)
    q.delivered_by_inform(q.for_inform())
    assert q.pending == []


def test_failed_session_drops_only_the_carried_connection_request(tmp_path):
    q = _queue(tmp_path)
    q.add(ev.CONNECTION_REQUEST)
    q.add(ev.PERIODIC)
    q.for_inform()
    q.session_failed()
    assert q.pending == [(ev.PERIODIC, "")]  # 6 is never retried, 2 is
    q.add(ev.CONNECTION_REQUEST)
    q.for_inform()
    q.add(ev.CONNECTION_REQUEST)  # arrived during the failing session
    q.session_failed()
    assert q.has(ev.CONNECTION_REQUEST)
    q.delivered_by_inform(q.for_inform())
    q.add(ev.CONNECTION_REQUEST)  # after the InformResponse, then the session fails
    q.session_failed()
    assert q.has(ev.CONNECTION_REQUEST)
