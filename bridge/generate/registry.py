"""Generator backends by name, from the ``worldbridge.generators`` entry-point group.

A studio plugs its own model in by declaring, in its package's pyproject.toml::

    [project.entry-points."worldbridge.generators"]
    mymodel = "my_package.module:MyGenerator"

The built-in ``photo`` backend is found the same way, and also without installation (running
from a source checkout) through ``_BUILTIN``.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from bridge.generate.base import Generator

ENTRY_POINT_GROUP = "worldbridge.generators"
DEFAULT_GENERATOR = "photo"
IMPORT_GENERATOR = "import"
_BUILTIN = {"photo": "bridge.generate.photo:PhotoGenerator", IMPORT_GENERATOR: "bridge.generate.scene:ImportGenerator"}


class UnknownGeneratorError(LookupError):
    pass


def available() -> list[str]:
    names = {ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(names | set(_BUILTIN))


def generator_for(data: bytes, name: str | None) -> str:
    """The backend for an input: ``name`` when given, else ``import`` for a splat scene file
    (.ply / .spz, told by its first bytes) and the default for anything else (a photo)."""
    if name:
        return name
    from bridge.generate.scene.source import scene_kind

    return IMPORT_GENERATOR if scene_kind(data) else DEFAULT_GENERATOR


def load_generator(name: str) -> Generator:
    """A fresh instance of the backend registered as ``name``."""
    name = name or DEFAULT_GENERATOR
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            cls = ep.load()
            break
    else:
        if name not in _BUILTIN:
            raise UnknownGeneratorError(f"no generator named {name!r}; available: {', '.join(available())}")
        module_name, _, attr = _BUILTIN[name].partition(":")
        module = __import__(module_name, fromlist=[attr])
        cls = getattr(module, attr)
    instance = cls()
    if not isinstance(instance, Generator):
        raise TypeError(f"generator {name!r} ({cls!r}) does not implement the Generator contract")
    return instance
