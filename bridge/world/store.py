"""The world store: SQLite (WAL) for worlds and the tile index, a folder of content-addressed blobs.

Layout of a data folder::

    worlds.db                 SQLite: worlds, world_assets, tiles, directives (a log per world)
    blobs/ab/cdef...          payloads, named by the sha256 of their bytes

Crash safety: a blob is written to a temporary file in its final folder, fsynced, renamed into
place and the folder fsynced; only then is its index row committed. A crash (even SIGKILL) can
leave an orphan temporary file or an unindexed blob, never an index row pointing at a missing or
half-written blob. Orphans are swept by :meth:`WorldStore.sweep_temporary_files` at open.

One writer per data folder: the server process. Readers in other processes (generation workers)
only read blobs by hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bridge.world.keys import TileKey
from bridge.world.spec import WorldSpec

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS worlds (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    photo_sha256 TEXT NOT NULL,
    generator TEXT NOT NULL,
    generator_version TEXT NOT NULL,
    spec_json TEXT NOT NULL,
    prepared_sha256 TEXT NOT NULL,
    created_unix_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS world_assets (
    world_id TEXT NOT NULL REFERENCES worlds(id),
    name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    media_type TEXT NOT NULL,
    PRIMARY KEY (world_id, name)
);
CREATE TABLE IF NOT EXISTS tiles (
    world_id TEXT NOT NULL REFERENCES worlds(id),
    lod INTEGER NOT NULL,
    ix INTEGER NOT NULL,
    iz INTEGER NOT NULL,
    format TEXT NOT NULL,
    version INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    splat_count INTEGER NOT NULL,
    created_unix_ms INTEGER NOT NULL,
    PRIMARY KEY (world_id, lod, ix, iz, format, version)
);
CREATE TABLE IF NOT EXISTS directives (
    world_id TEXT NOT NULL REFERENCES worlds(id),
    version INTEGER NOT NULL,
    op TEXT NOT NULL,
    target INTEGER NOT NULL,
    directive_json TEXT NOT NULL,
    created_unix_ms INTEGER NOT NULL,
    PRIMARY KEY (world_id, version)
);
"""

_TEMP_PREFIX = ".partial-"


@dataclass(frozen=True)
class WorldRow:
    id: str
    name: str
    photo_sha256: str
    generator: str
    generator_version: str
    spec: WorldSpec
    prepared_sha256: str
    created_unix_ms: int


@dataclass(frozen=True)
class TileRow:
    key: TileKey
    format: str
    version: int
    sha256: str
    size: int
    splat_count: int


@dataclass(frozen=True)
class DirectiveRow:
    version: int  # 1, 2, ... per world
    op: str  # "apply" | "revert"
    target: int  # the directive id: its own version for an apply, the reverted one's for a revert
    directive_json: str  # the directive's JSON for an apply, "" for a revert
    created_unix_ms: int


@dataclass(frozen=True)
class AssetRow:
    name: str
    sha256: str
    media_type: str


class DamagedBlobError(ValueError):
    """A stored blob's bytes no longer hash to its name (it has been removed)."""

    def __init__(self, sha256: str) -> None:
        super().__init__(f"blob {sha256} was damaged on disk (its bytes no longer hash to its name); removed")
        self.sha256 = sha256


class BlobStore:
    """Immutable blobs named by the sha256 of their bytes; safe to read from any process."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:]

    def put(self, data: bytes) -> str:
        """Store ``data`` durably; return its sha256. Idempotent."""
        sha = hashlib.sha256(data).hexdigest()
        final = self.path(sha)
        if final.exists():
            return sha
        final.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=final.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, final)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        _fsync_dir(final.parent)
        return sha

    def get(self, sha256: str) -> bytes:
        """The blob's bytes, checked against their name: a blob damaged on disk (bit rot, a
        stray write) is removed, so it is never served and can be written again, and
        :class:`DamagedBlobError` says so. FileNotFoundError if there is none."""
        path = self.path(sha256)
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            path.unlink(missing_ok=True)
            raise DamagedBlobError(sha256)
        return data

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def sweep_temporary_files(self) -> int:
        """Delete temporaries a crash left behind; return how many."""
        count = 0
        for temp in self.root.glob(f"*/{_TEMP_PREFIX}*"):
            temp.unlink(missing_ok=True)
            count += 1
        return count


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WorldStore:
    """Worlds, their assets and their tiles. Thread-safe; one writing process per folder."""

    def __init__(self, root: Path | str, format_revisions: Mapping[str, int] | None = None) -> None:
        """``format_revisions``: each tile format's revision (bridge.formats.format_revisions);
        tiles are filed under it, so an older revision's bytes are made again, not served."""
        self.root = Path(root)
        self._revisions = dict(format_revisions or {})
        self.root.mkdir(parents=True, exist_ok=True)
        self.blobs = BlobStore(self.root / "blobs")
        self.blobs.sweep_temporary_files()
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.root / "worlds.db", check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed index row survives power loss, matching the fsynced blobs it names.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        for statement in _SCHEMA.strip().split(";"):
            if statement.strip():
                self._db.execute(statement)
        self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                # A COMMIT that failed (a full disk: SQLITE_FULL or IOERR) may leave the transaction
                # open, and SQLite asks for an explicit ROLLBACK then; else every later write
                # would fail with "cannot start a transaction within a transaction".
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

    # -- worlds ------------------------------------------------------------------------------

    def add_world(self, row: WorldRow, assets: list[AssetRow]) -> bool:
        """Index a world whose blobs are already stored; False if the id already existed."""
        for asset in assets:
            if not self.blobs.exists(asset.sha256):
                raise ValueError(f"asset {asset.name} names a blob that is not stored")
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM worlds WHERE id = ?", (row.id,)).fetchone():
                return False
            db.execute(
                "INSERT INTO worlds VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    row.id,
                    row.name,
                    row.photo_sha256,
                    row.generator,
                    row.generator_version,
                    json.dumps(row.spec.to_json(), sort_keys=True),
                    row.prepared_sha256,
                    row.created_unix_ms,
                ),
            )
            db.executemany(
                "INSERT INTO world_assets VALUES (?, ?, ?, ?)",
                [(row.id, a.name, a.sha256, a.media_type) for a in assets],
            )
        return True

    def get_world(self, world_id: str) -> WorldRow | None:
        with self._lock:
            found = self._db.execute("SELECT * FROM worlds WHERE id = ?", (world_id,)).fetchone()
        return _world_row(found) if found else None

    def list_worlds(self, limit: int, offset: int = 0) -> list[WorldRow]:
        """Most recent first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM worlds ORDER BY created_unix_ms DESC, id LIMIT ? OFFSET ?", (limit, offset)
            ).fetchall()
        return [_world_row(r) for r in rows]

    def add_asset(self, world_id: str, asset: AssetRow) -> bool:
        """File one more asset (its blob already stored) under a world; False if the name was taken."""
        if not self.blobs.exists(asset.sha256):
            raise ValueError(f"asset {asset.name} names a blob that is not stored")
        with self._transaction() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO world_assets VALUES (?, ?, ?, ?)",
                (world_id, asset.name, asset.sha256, asset.media_type),
            )
        return cursor.rowcount == 1

    def get_asset(self, world_id: str, name: str) -> AssetRow | None:
        with self._lock:
            found = self._db.execute(
                "SELECT name, sha256, media_type FROM world_assets WHERE world_id = ? AND name = ?",
                (world_id, name),
            ).fetchone()
        return AssetRow(*found) if found else None

    def list_assets(self, world_id: str) -> list[AssetRow]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, sha256, media_type FROM world_assets WHERE world_id = ? ORDER BY name",
                (world_id,),
            ).fetchall()
        return [AssetRow(*r) for r in rows]

    # -- tiles -------------------------------------------------------------------------------

    def _filed_as(self, fmt: str) -> str:
        """The name tiles of ``fmt`` are filed under: the name, and the revision past the first."""
        revision = self._revisions.get(fmt, 1)
        return fmt if revision == 1 else f"{fmt}@{revision}"

    def get_tile(self, world_id: str, key: TileKey, fmt: str, version: int = 0) -> TileRow | None:
        with self._lock:
            found = self._db.execute(
                "SELECT lod, ix, iz, format, version, sha256, size, splat_count FROM tiles "
                "WHERE world_id = ? AND lod = ? AND ix = ? AND iz = ? AND format = ? AND version = ?",
                (world_id, key.lod, key.ix, key.iz, self._filed_as(fmt), version),
            ).fetchone()
        return _tile_row(found) if found else None

    def put_tile(self, world_id: str, row: TileRow) -> None:
        """Index a tile whose blob is already stored (see :meth:`BlobStore.put`)."""
        if not self.blobs.exists(row.sha256):
            raise ValueError(f"tile {row.key} names a blob that is not stored")
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO tiles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    world_id,
                    row.key.lod,
                    row.key.ix,
                    row.key.iz,
                    self._filed_as(row.format),
                    row.version,
                    row.sha256,
                    row.size,
                    row.splat_count,
                    int(time.time() * 1000),
                ),
            )

    # -- directives (bridge.world.directives): an append-only log per world ----------------------

    def append_directive(self, world_id: str, row: DirectiveRow) -> None:
        """Add the next version of ``world_id``'s directives; refuses any version but the next."""
        with self._transaction() as db:
            last = db.execute("SELECT MAX(version) FROM directives WHERE world_id = ?", (world_id,)).fetchone()[0]
            if row.version != (last or 0) + 1:
                raise ValueError(f"directive version {row.version} is not the next after {last or 0}")
            db.execute(
                "INSERT INTO directives VALUES (?, ?, ?, ?, ?, ?)",
                (world_id, row.version, row.op, row.target, row.directive_json, row.created_unix_ms),
            )

    def list_directives(self, world_id: str) -> list[DirectiveRow]:
        """The log, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT version, op, target, directive_json, created_unix_ms FROM directives "
                "WHERE world_id = ? ORDER BY version",
                (world_id,),
            ).fetchall()
        return [DirectiveRow(*r) for r in rows]

    def tile_naming(self, sha256: str) -> tuple[str, TileRow] | None:
        """A (world id, tile row) whose content is this blob, if any tile's is."""
        with self._lock:
            found = self._db.execute(
                "SELECT world_id, lod, ix, iz, format, version, sha256, size, splat_count FROM tiles "
                "WHERE sha256 = ? LIMIT 1",
                (sha256,),
            ).fetchone()
        return (found[0], _tile_row(found[1:])) if found else None

    def tile_count(self, world_id: str | None = None) -> int:
        with self._lock:
            if world_id is None:
                return int(self._db.execute("SELECT COUNT(*) FROM tiles").fetchone()[0])
            return int(self._db.execute("SELECT COUNT(*) FROM tiles WHERE world_id = ?", (world_id,)).fetchone()[0])

    def integrity_problems(self) -> list[str]:
        """SQLite's own integrity check, and every indexed blob must exist and hash to its name;
        returns what does not hold."""
        with self._lock:
            checked = [r[0] for r in self._db.execute("PRAGMA integrity_check")]
            shas = [r[0] for r in self._db.execute("SELECT sha256 FROM tiles UNION SELECT sha256 FROM world_assets")]
            shas += [r[0] for r in self._db.execute("SELECT prepared_sha256 FROM worlds")]
        problems = [f"index: {line}" for line in checked if line != "ok"]
        for sha in shas:
            path = self.blobs.path(sha)
            if not path.exists():
                problems.append(f"missing blob {sha}")
            elif hashlib.sha256(path.read_bytes()).hexdigest() != sha:
                problems.append(f"blob {sha} does not hash to its name")
        return problems


def _world_row(r: tuple) -> WorldRow:
    return WorldRow(r[0], r[1], r[2], r[3], r[4], WorldSpec.from_json(json.loads(r[5])), r[6], r[7])


def _tile_row(r: tuple) -> TileRow:
    return TileRow(TileKey(r[0], r[1], r[2]), r[3].split("@", 1)[0], r[4], r[5], r[6], r[7])  # see _filed_as
