"""The domain core stays pure: no Kafka, Faust or network imports."""

import ast
import subprocess
import sys
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


_WORKER_MODULES = """
import sys
from sahelwatch.config import Settings
from sahelwatch.core.tagging import default_tagger
from sahelwatch.streaming.app import create_app

create_app(Settings(data_dir=sys.argv[1]))
heavy = ("sahelwatch.core.cleaning", "sahelwatch.core.preparation", "trafilatura")
loaded = [m for m in sys.modules if m.startswith(heavy)]
print(loaded, default_tagger.cache_info().currsize)
"""


def test_the_worker_process_leaves_cleaning_and_tagging_to_its_pool(tmp_path: Path) -> None:
    """They are about 20 MiB of a worker's memory; the pool processes load them (streaming/prepare_pool.py)."""
    result = subprocess.run(
        [sys.executable, "-c", _WORKER_MODULES, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["[]", "0"]  # no cleaning module loaded, no tagger built
