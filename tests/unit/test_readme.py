"""The README's configuration table is the documented defaults, not a copy that drifts."""

from sahelwatch.config import DOCUMENTED
from tests.conftest import ROOT


def test_readme_documents_every_setting_with_its_default() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("<!-- config-table:start -->")[1].split("<!-- config-table:end -->")[0]
    for name, (meaning, default) in DOCUMENTED.items():
        shown = f"`{default}`" if default else "(unset)"
        assert f"| `SAHELWATCH_{name}` | {shown} | {meaning} |" in table


def test_readme_opens_with_demo_and_test() -> None:
    head = (ROOT / "README.md").read_text().split("\n\n")[1]
    assert "make demo" in head and "make test" in head
