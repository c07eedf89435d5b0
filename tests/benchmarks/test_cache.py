"""Evidence for the benchmark cache: large data sets are built once, outside the repository.

A data set is taken from the cache only when a build finished (its ``built.json``
marker); an interrupted or failed build is never mistaken for a finished one, and a
later run builds it again. The cache never lives inside the repository. Every test gives
the cache its own folder through ``environ``: none touches the real ``~/.cache``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks._harness import cache_root, cached_data

REPOSITORY = Path(__file__).resolve().parent.parent.parent


def _env(folder: Path) -> dict[str, str]:
    return {"GOVKIT_BENCH_CACHE": str(folder)}


def test_data_set_is_built_once_then_reused(tmp_path: Path) -> None:
    builds: list[Path] = []

    def build(folder: Path) -> None:
        builds.append(folder)
        assert list(folder.iterdir()) == []  # an empty folder to fill
        (folder / "data.bin").write_bytes(b"x" * 10)

    first = cached_data("data-10-v1", build, environ=_env(tmp_path))
    second = cached_data("data-10-v1", build, environ=_env(tmp_path))
    assert len(builds) == 1
    assert first.path == second.path == tmp_path / "data-10-v1"
    assert (second.path / "data.bin").read_bytes() == b"x" * 10
    assert first.built_now is True
    assert second.built_now is False
    assert second.build_seconds == pytest.approx(first.build_seconds)
    assert second.built_at == first.built_at
    assert first.describe().endswith(f"s (this run) into {first.path}")
    assert second.describe().startswith("built once in ")
    assert second.describe().endswith(f"UTC, reused from {second.path}")
    # only the finished data set is left in the cache: no partial folders
    assert [p.name for p in tmp_path.iterdir()] == ["data-10-v1"]


def test_interrupted_build_is_not_taken_for_a_finished_one(tmp_path: Path) -> None:
    def broken(folder: Path) -> None:
        (folder / "data.bin").write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cached_data("data-v1", broken, environ=_env(tmp_path))
    assert list(tmp_path.iterdir()) == []
    again = cached_data(
        "data-v1", lambda f: (f / "data.bin").write_bytes(b"whole"), environ=_env(tmp_path)
    )
    assert again.built_now is True
    assert (again.path / "data.bin").read_bytes() == b"whole"


def test_leftover_of_a_killed_build_is_removed(tmp_path: Path) -> None:
    """A build killed outright (no finally ran) leaves a partial folder with its pid."""
    leftover = tmp_path / ".data-v1.999999999.partial"
    leftover.mkdir()
    (leftover / "data.bin").write_bytes(b"half")
    cached_data("data-v1", lambda f: None, environ=_env(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data-v1"]


def test_damaged_marker_is_reported_not_rebuilt_over(tmp_path: Path) -> None:
    folder = tmp_path / "data-v1"
    folder.mkdir()
    (folder / "built.json").write_text('{"name": "data-v1"}', encoding="utf-8")
    with pytest.raises(OSError, match="damaged"):
        cached_data("data-v1", lambda f: None, environ=_env(tmp_path))


def test_not_enough_free_space_fails_before_building(tmp_path: Path) -> None:
    builds: list[Path] = []
    with pytest.raises(OSError, match="needs about"):
        cached_data("huge-v1", builds.append, need_bytes=1 << 62, environ=_env(tmp_path))
    assert builds == []
    assert not (tmp_path / "huge-v1").exists()


def test_cache_inside_the_repository_is_refused(tmp_path: Path) -> None:
    for inside in (REPOSITORY, REPOSITORY / "benchmarks" / "cache"):
        with pytest.raises(ValueError, match="inside the repository"):
            cache_root(_env(inside))
    with pytest.raises(ValueError, match="inside the repository"):
        cached_data("data-v1", lambda f: None, environ=_env(REPOSITORY / "cache"))
    assert not (REPOSITORY / "cache").exists()


def test_cache_root_defaults(tmp_path: Path) -> None:
    assert cache_root({}) == (Path.home() / ".cache" / "govkit-bench").resolve()
    xdg = {"XDG_CACHE_HOME": str(tmp_path)}
    assert cache_root(xdg) == tmp_path.resolve() / "govkit-bench"
    both = {**xdg, "GOVKIT_BENCH_CACHE": str(tmp_path / "mine")}
    assert cache_root(both) == tmp_path.resolve() / "mine"


@pytest.mark.parametrize("name", ["", "a/b", ".hidden", "x.partial"])
def test_bad_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match="bad cache name"):
        cached_data(name, lambda f: None, environ=_env(tmp_path))


def test_marker_records_the_build_time(tmp_path: Path) -> None:
    made = cached_data("data-v1", lambda f: None, environ=_env(tmp_path))
    marker = json.loads((made.path / "built.json").read_text(encoding="utf-8"))
    assert marker["name"] == "data-v1"
    assert marker["build_seconds"] == made.build_seconds
