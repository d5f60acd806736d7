"""The domain core stays pure: no Kafka, Faust or network imports."""

import ast
from pathlib import Path

import sahelwatch.core

FORBIDDEN = (
    "faust",
    "kafka",
    "aiokafka",
    "mode",
    "prometheus_client",
    "sahelwatch.streaming",
    "sahelwatch.cli",
    "sahelwatch.clients",
)


def test_core_imports_nothing_from_the_streaming_side() -> None:
    core = Path(sahelwatch.core.__file__).parent
    offenders = []
    for file in core.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            offenders += [f"{file.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN or n.startswith(FORBIDDEN)]
    assert list(core.rglob("*.py")), "core package not found"
    assert offenders == []
