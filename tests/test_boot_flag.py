"""--boot auto: a boot is detected from the kernel's boot id, once per boot,
whatever the mix of --boot, --boot auto and plain starts."""

from rocket.cli import boot_flag
from rocket.base.statedir import StateDir


def test_boot_auto_counts_each_boot_once(tmp_path):
    bid = tmp_path / "boot_id"
    state = StateDir(str(tmp_path / "state"))
    bid.write_text("aaaa-1\n")
    assert boot_flag("auto", state, str(bid)) is True  # first start ever
    assert boot_flag("auto", state, str(bid)) is False  # respawn / restart
    assert boot_flag("auto", StateDir(str(tmp_path / "state")), str(bid)) is False  # new process
    bid.write_text("bbbb-2\n")  # the device rebooted
    assert boot_flag("auto", StateDir(str(tmp_path / "state")), str(bid)) is True
    assert boot_flag("auto", state, str(bid)) is False


def test_explicit_and_plain_starts_record_the_boot(tmp_path):
    bid = tmp_path / "boot_id"
    bid.write_text("cccc-3\n")
    state = StateDir(str(tmp_path / "state"))
    assert boot_flag("yes", state, str(bid)) is True  # the caller knows
    assert boot_flag("auto", state, str(bid)) is False  # already counted
    bid.write_text("dddd-4\n")
    assert boot_flag(None, state, str(bid)) is False  # plain start: not a boot, but recorded
    assert boot_flag("auto", state, str(bid)) is False


def test_unreadable_boot_id_is_not_a_boot(tmp_path):
    state = StateDir(str(tmp_path / "state"))
    assert boot_flag("auto", state, str(tmp_path / "missing")) is False
    assert boot_flag("yes", state, str(tmp_path / "missing")) is True
