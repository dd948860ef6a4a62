"""A cached value's freshness is decided the same way whether the journal still holds the tags written
since it was made (looked up among its dependencies) or not (each dependency's last change is read)."""

from __future__ import annotations

from mockverse.world import freshness
from mockverse.world.freshness import Changes, Entry


def entry(changes: Changes, *deps: str) -> Entry:
    return Entry("value", frozenset(deps), changes.tick, "w")


def test_a_write_of_other_tags_keeps_a_value_and_one_of_its_tags_drops_it() -> None:
    changes = Changes()
    user, orders = entry(changes, "e:user:3", "m:order"), entry(changes, "e:user:9")
    changes.mark("w", ["e:user:9", "l:user:9"])
    assert changes.fresh(user) is True
    assert changes.fresh(orders) is False
    assert user.stamp == changes.tick   # re-stamped: the next check starts from here


def test_more_tags_written_than_a_value_depends_on_are_checked_per_dependency() -> None:
    changes = Changes()
    one = entry(changes, "e:user:3")
    changes.mark("w", ["e:user:4", "e:user:5"])   # more written than ``one`` depends on: the per-tag path
    assert changes.since("w", one.stamp, most=1) is None
    assert changes.fresh(one) is True
    changes.mark("w", ["e:user:6", "e:user:3"])
    assert changes.fresh(one) is False


def test_a_value_older_than_the_journal_is_checked_per_dependency(monkeypatch) -> None:
    monkeypatch.setattr(freshness, "JOURNAL", 2)
    changes = Changes()
    kept, dropped = entry(changes, "e:user:3"), entry(changes, "e:user:7")
    for n in (4, 5, 6, 7, 8):
        changes.mark("w", [f"e:user:{n}"])
    assert changes.since("w", kept.stamp) is None   # the journal lets go of the oldest writes
    assert changes.fresh(kept) is True
    assert changes.fresh(dropped) is False
