"""DESIGN.md's import rule: bot -> intake, classifier, workflow; those three never import each other or bot."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("workflow", "intake", "classifier")


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_no_other_layer_and_not_bot(layer: str) -> None:
    forbidden = (set(LAYERS) - {layer}) | {"bot"}
    offenders = {str(path.relative_to(REPO)): sorted(imported_packages(path) & forbidden)
                 for path in (REPO / layer).rglob("*.py") if imported_packages(path) & forbidden}
    assert offenders == {}


# What bot may use of intake outside the registry: the channel interface, the one inbound type, and
# the mail format (parsing letters for `triage import` and the worker, reading sender checks), which
# is not a channel but the shape of what the email channel and mailbox exports carry.
SHARED_INTAKE = {"intake", "intake.channel", "intake.message", "intake.email", "intake.email.parse",
                 "intake.email.files", "intake.email.authentication"}
REGISTRY = "bot/channels.py"
RESIDENT_SIDE = {"bot/demo.py"}  # `triage demo` writes in from outside, as residents do, through the public doors


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names
                      if (REPO / node.module.replace(".", "/") / f"{alias.name}.py").exists()}
    return found


def channel_names() -> set[str]:
    """Every channel's name: the Channel classes found by importing every module in intake/."""
    import importlib

    from intake.channel import Channel

    for path in (REPO / "intake").rglob("*.py"):
        importlib.import_module(".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__"))
    found, kinds = set(), list(Channel.__subclasses__())
    while kinds:
        kind = kinds.pop()
        found.add(kind.name)
        kinds.extend(kind.__subclasses__())
    return found


def test_the_channel_registry_is_the_only_place_bot_learns_of_channels() -> None:
    """No other bot module imports a channel's module, and none names a chat channel in its code:
    a new channel is one intake module and one registry line."""
    names = channel_names()
    assert names >= {"email", "telegram", "webchat", "sms"}
    offenders: dict[str, list[str]] = {}
    for path in sorted((REPO / "bot").glob("*.py")):
        relative = str(path.relative_to(REPO))
        if relative == REGISTRY or relative in RESIDENT_SIDE:
            continue
        channel_imports = [m for m in imported_modules(path) if m.startswith("intake") and m not in SHARED_INTAKE]
        named = [node.value for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.Constant) and node.value in names - {"email"}]
        if channel_imports or named:
            offenders[relative] = sorted({*channel_imports, *named})
    assert offenders == {}


def test_the_registry_imports_every_channel_and_the_runner_takes_its_roles_from_it() -> None:
    from bot import channels, runner

    assert {entry.kind.name for entry in channels.REGISTRY} == channel_names()
    assert set(channels.ROLES) == {role for entry in channels.REGISTRY for role in entry.kind.roles}
    assert set(channels.ROLES) <= set(runner.ROLES)
    runner_code = (REPO / "bot/runner.py").read_text()
    assert not any(f'"{role}" in roles' in runner_code for role in channels.ROLES)  # no if-chain on channel roles
