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


def ground_heading(forward: tuple[float, float, float] | np.ndarray) -> np.ndarray:
    """The unit horizontal part of a view direction (-Z when looking straight up or down)."""
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
    """Walk ``distance_m`` along the horizontal part of ``forward``, walk back facing home, and
    at home turn round to face the way the walk began (at the spawn: the photo again)."""
    heading = ground_heading(forward)
    origin = np.asarray(start, dtype=np.float64)
    steps = max(1, math.ceil(distance_m / (speed_m_s * step_s)))
    poses = []
    for i in range(2 * steps + 1):
        outward = i <= steps
        travelled = (i if outward else 2 * steps - i) * distance_m / steps
        direction = heading if outward else -heading
        home = i == 2 * steps
        look = np.array(forward) if outward or home else np.array([-forward[0], forward[1], -forward[2]])
        velocity = direction * speed_m_s if 0 < i < 2 * steps else np.zeros(3)
        position = origin + heading * travelled
        poses.append(PlayerPose(i * step_s, tuple(position), tuple(look), tuple(velocity)))
    return poses


Vec3 = tuple[float, float, float]


def _pose(t: float, position: np.ndarray, heading: np.ndarray, speed: float, look_y: float) -> PlayerPose:
    look = np.array([heading[0], look_y, heading[2]])
    look /= np.linalg.norm(look)
    velocity = heading * speed
    return PlayerPose(
        round(t, 9),
        (float(position[0]), float(position[1]), float(position[2])),
        (float(look[0]), float(look[1]), float(look[2])),
        (float(velocity[0]), float(velocity[1]), float(velocity[2])),
    )


def _steps(duration_s: float, step_s: float) -> int:
    if step_s <= 0 or duration_s < 0:
        raise ValueError(f"step_s {step_s} must be > 0 and duration_s {duration_s} >= 0")
    return max(1, math.ceil(duration_s / step_s - 1e-9))


def straight_line(start: Vec3, forward: Vec3, speed_m_s: float, duration_s: float, step_s: float) -> list[PlayerPose]:
    """Walk along the horizontal part of ``forward`` at a steady speed, looking where it goes."""
    heading = ground_heading(forward)
    origin = np.asarray(start, dtype=np.float64)
    return [
        _pose(i * step_s, origin + heading * speed_m_s * i * step_s, heading, speed_m_s, forward[1])
        for i in range(_steps(duration_s, step_s) + 1)
    ]


def circle(
    centre: Vec3, radius_m: float, speed_m_s: float, duration_s: float, step_s: float, phase_rad: float = 0.0
) -> list[PlayerPose]:
    """Round ``centre`` (counter-clockwise seen from above), looking along the way; the walk
    starts at angle ``phase_rad`` from +X. Every tile on the ring is revisited each lap."""
    if radius_m <= 0:
        raise ValueError(f"radius_m {radius_m} must be > 0")
    c = np.asarray(centre, dtype=np.float64)
    omega = speed_m_s / radius_m
    poses = []
    for i in range(_steps(duration_s, step_s) + 1):
        t = i * step_s
        a = phase_rad + omega * t
        position = c + radius_m * np.array([math.cos(a), 0.0, -math.sin(a)])
        heading = np.array([-math.sin(a), 0.0, -math.cos(a)])  # d(position)/da, normalised
        poses.append(_pose(t, position, heading, speed_m_s, 0.0))
    return poses


def random_walk(
    start: Vec3,
    forward: Vec3,
    speed_m_s: float,
    duration_s: float,
    step_s: float,
    seed: int,
    turn_every_s: tuple[float, float] = (1.0, 4.0),
    max_turn_deg: float = 120.0,
) -> list[PlayerPose]:
    """Straight legs of random length with random turns between them; the same seed, the same walk."""
    rng = np.random.default_rng(seed)
    heading = ground_heading(forward)
    position = np.asarray(start, dtype=np.float64)
    next_turn = rng.uniform(*turn_every_s)
    poses = []
    for i in range(_steps(duration_s, step_s) + 1):
        t = i * step_s
        if t >= next_turn:
            angle = math.radians(rng.uniform(-max_turn_deg, max_turn_deg))
            c, s = math.cos(angle), math.sin(angle)
            heading = np.array([c * heading[0] + s * heading[2], 0.0, -s * heading[0] + c * heading[2]])
            next_turn = t + rng.uniform(*turn_every_s)
        poses.append(_pose(t, position.copy(), heading, speed_m_s, 0.0))
        position = position + heading * speed_m_s * step_s
    return poses


def teleports(points: list[Vec3], forward: Vec3, dwell_s: float, step_s: float) -> list[PlayerPose]:
    """Stand still at each point for ``dwell_s``, then appear at the next (zero velocity)."""
    heading = ground_heading(forward)
    per_point = _steps(dwell_s, step_s)
    poses = []
    for j, point in enumerate(points):
        for i in range(per_point):
            t = (j * per_point + i) * step_s
            poses.append(_pose(t, np.asarray(point, dtype=np.float64), heading, 0.0, forward[1]))
    return poses


def stop_and_go(
    start: Vec3, forward: Vec3, speed_m_s: float, duration_s: float, step_s: float, go_s: float, stop_s: float
) -> list[PlayerPose]:
    """Walk for ``go_s``, stand for ``stop_s``, again and again, along one line."""
    heading = ground_heading(forward)
    position = np.asarray(start, dtype=np.float64)
    period = go_s + stop_s
    poses = []
    for i in range(_steps(duration_s, step_s) + 1):
        t = i * step_s
        moving = (t % period) < go_s - 1e-9
        poses.append(_pose(t, position.copy(), heading, speed_m_s if moving else 0.0, forward[1]))
        if moving:
            position = position + heading * speed_m_s * step_s
    return poses


def back_and_forth(
    start: Vec3, forward: Vec3, distance_m: float, speed_m_s: float, step_s: float, laps: int = 2
) -> list[PlayerPose]:
    """``out_and_back`` ``laps`` times: every place is revisited, in both directions."""
    lap = out_and_back(start, forward, distance_m, speed_m_s, step_s)
    duration = lap[-1].t + step_s
    poses = list(lap)
    for k in range(1, laps):
        poses += [PlayerPose(p.t + k * duration, p.position, p.forward, p.velocity) for p in lap]
    return poses


def pose_at(poses: list[PlayerPose], t: float) -> PlayerPose:
    """The pose at time ``t`` (the last one at or before it): for players driven by a real clock."""
    lo, hi = 0, len(poses) - 1
    if t >= poses[hi].t:
        return poses[hi]
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if poses[mid].t <= t:
            lo = mid
        else:
            hi = mid - 1
    return poses[lo]


PLAYERS = ("straight_line", "circle", "random_walk", "teleports", "stop_and_go", "back_and_forth", "out_and_back")
