"""The docs site builds with warnings as errors, the README stays a landing page, and the code in both is the code
the tests run: every example file is included in the docs from the file itself, and every line of the README's
Python examples is a line of one of them."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))


def test_the_docs_build_with_warnings_as_errors(tmp_path):
    # mkdocs.yml sets strict; --strict says it again. mkdocstrings reads lrn_op/ from the source tree.
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    api = (tmp_path / "site" / "api" / "index.html").read_text()
    for name in ("LocalResponseNormalization", "replace_builtin", "from_torch", "depth_radius", "simd_path"):
        assert name in api


def test_every_example_is_included_in_the_docs():
    pages = "".join(path.read_text() for path in (ROOT / "docs").rglob("*.md"))
    missing = [path.name for path in EXAMPLES if f'--8<-- "examples/{path.name}"' not in pages]
    assert not missing, f"no docs page includes {missing}"


def test_the_readme_is_a_landing_page():
    lines = README.read_text().splitlines()
    assert len(lines) <= 300, f"README.md has {len(lines)} lines; the manual goes in docs/"
    for target in re.findall(r"\]\(((?!https?:)[^)#]+)[^)]*\)", README.read_text()):
        assert (ROOT / target).exists(), f"README.md links to {target}, which does not exist"


def test_the_readme_examples_are_cut_from_the_example_files():
    example_lines = {line.strip() for path in EXAMPLES for line in path.read_text().splitlines()}
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 6
    strays = [line for block in blocks for line in block.splitlines()
              if line.strip() and line.strip() not in example_lines]
    assert not strays, f"README.md's examples hold lines that no file in examples/ has: {strays}"
