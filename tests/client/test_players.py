"""Simulated players: the demo's walk out and back ends where it began, facing the photo again."""

from __future__ import annotations

import numpy as np

from bridge.client.players import out_and_back


def test_the_walk_back_faces_home_and_ends_facing_the_photo() -> None:
    forward = (0.0, -0.2, -0.98)
    poses = out_and_back((1.0, 5.0, 2.0), forward, distance_m=100.0, speed_m_s=10.0, step_s=1.0)
    assert np.allclose(poses[0].position, poses[-1].position)
    middle_of_the_way_back = poses[len(poses) * 3 // 4]
    assert np.dot(middle_of_the_way_back.forward, forward) < 0, "walking home faces home"
    assert np.allclose(poses[-1].forward, forward), "at home it turns round to face the photo"
    assert np.allclose(poses[-1].velocity, 0.0)
