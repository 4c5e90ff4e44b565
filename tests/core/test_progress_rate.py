"""Progress is said at most once an interval (the latest state), not once per pose or ack: over
gRPC every message costs the serving loop a pass, and a walking viewer's progress events were a
third of its messages. What a viewer waits for still comes: "everything sent" at once, a change
held back when the interval is over, and the last state when the stream ends."""

from __future__ import annotations

from pathlib import Path

from bridge.stream.interest import StreamOptions
from bridge.stream.messages import Progress
from tests.conftest import run
from tests.stream_support import Viewer, make_worlds, pose, world_dir

__all__ = ["world_dir"]  # the fixture, imported for pytest

HERE = pose(radius=48)


def _progress(viewer: Viewer) -> list[Progress]:
    return [e for e in viewer.events if isinstance(e, Progress)]


def test_progress_is_said_once_an_interval_and_the_last_state_when_the_stream_ends(
    world_dir: tuple[Path, str],
) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> list[Progress]:
        worlds, pool = make_worlds(data_dir)
        # An interval longer than the test: only what is said at once is said before the end.
        viewer = Viewer(worlds, world_id, HERE, options=StreamOptions(min_progress_interval_s=3600.0))
        await viewer.settled(1)  # "everything sent" after tiles were pending: said at once
        said = len(_progress(viewer))
        (session,) = worlds.sessions._live.values()
        for sequence in range(2, 21):  # the viewer stands still: each pose changes only the sequence
            selections = session.selections
            viewer.move(HERE, sequence)
            await viewer.until(lambda s=selections: session.selections > s)  # read and planned for
        assert len(_progress(viewer)) == said, "progress was said for poses within the interval"
        await viewer.close()
        pool.shutdown()
        return _progress(viewer)[said:]

    after = run(scenario(), 120)
    assert len(after) == 1 and after[0].sequence == 20 and after[0].tiles_pending == 0


def test_a_progress_held_back_is_said_when_the_interval_is_over(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> None:
        worlds, pool = make_worlds(data_dir)
        viewer = Viewer(worlds, world_id, HERE, options=StreamOptions(min_progress_interval_s=0.05))
        await viewer.settled(1)
        for sequence in range(2, 31):
            viewer.move(HERE, sequence)
        # Nothing else happens on the stream: only the interval running out says sequence 30.
        await viewer.settled(30)
        await viewer.close()
        pool.shutdown()

    run(scenario(), 120)
