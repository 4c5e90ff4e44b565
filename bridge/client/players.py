"""Simulated players: deterministic trajectories for the demo, tests and benches."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PlayerPose:
    t: float  # seconds since the start
    position: tuple[float, float, float]  # metres, world frame
    forward: tuple[float, float, float]  # unit view direction
    velocity: tuple[float, float, float]  # metres per second


def _heading(forward: tuple[float, float, float]) -> np.ndarray:
    flat = np.array([forward[0], 0.0, forward[2]])
    norm = np.linalg.norm(flat)
    return flat / norm if norm > 1e-9 else np.array([0.0, 0.0, -1.0])


def out_and_back(
    start: tuple[float, float, float],
    forward: tuple[float, float, float],
    distance_m: float,
    speed_m_s: float,
    step_s: float,
) -> list[PlayerPose]:
    """Walk ``distance_m`` along the horizontal part of ``forward``, then walk back facing home."""
    heading = _heading(forward)
    origin = np.asarray(start, dtype=np.float64)
    steps = max(1, math.ceil(distance_m / (speed_m_s * step_s)))
    poses = []
    for i in range(2 * steps + 1):
        outward = i <= steps
        travelled = (i if outward else 2 * steps - i) * distance_m / steps
        direction = heading if outward else -heading
        look = np.array(forward) if outward else np.array([-forward[0], forward[1], -forward[2]])
        velocity = direction * speed_m_s if 0 < i < 2 * steps else np.zeros(3)
        position = origin + heading * travelled
        poses.append(PlayerPose(i * step_s, tuple(position), tuple(look), tuple(velocity)))
    return poses
