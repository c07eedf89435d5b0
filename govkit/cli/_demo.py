"""``govkit demo``: a guided tour that exercises every component on embedded defaults."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govkit.cli._app import Output, table
from govkit.cli._files import write_file
from govkit.keys import ALGORITHMS, SigningKey


@dataclass
class DemoContext:
    """What the demo steps share: the output folder, the output channel, the results."""

    out_dir: Path
    out: Output
    results: dict[str, Any] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)


DemoStep = Callable[[DemoContext], None]


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``demo`` command."""
    demo = sub.add_parser(
        "demo", parents=[common], help="run a guided tour of govkit into a folder"
    )
    demo.add_argument("--out", type=Path, default=Path("demo-out"), help="output folder")
    demo.set_defaults(handler=cmd_demo)


def step_keys(ctx: DemoContext) -> None:
    """Generate one key per algorithm and write them under ``keys/``."""
    rows = []
    keys = []
    for alg in ALGORITHMS:
        key = SigningKey.generate(alg)
        path = ctx.out_dir / "keys" / f"{alg.lower()}.pem"
        write_file(path, key.to_pem(), private=True, force=True)
        write_file(path.with_name(path.name + ".pub"), key.verifying_key.to_pem(), force=True)
        rows.append((alg, key.kid, str(path)))
        keys.append({"alg": alg, "kid": key.kid, "path": str(path)})
    ctx.results["keys"] = keys
    ctx.tables.append("Keys\n" + table(rows, ("alg", "kid", "private key")))


def demo_steps() -> list[tuple[str, DemoStep]]:
    """The demo's steps in order; each later component adds its own."""
    return [("keys", step_keys)]


def cmd_demo(args: argparse.Namespace, out: Output) -> int:
    """``govkit demo``."""
    ctx = DemoContext(out_dir=args.out, out=out)
    ctx.out_dir.mkdir(parents=True, exist_ok=True)
    steps = demo_steps()
    for number, (name, step) in enumerate(steps, 1):
        out.status(f"[{number}/{len(steps)}] {name}")
        step(ctx)
    out.data(
        {"ok": True, "out": str(ctx.out_dir), **ctx.results},
        text="\n\n".join(ctx.tables),
    )
    return 0
