"""Packaging: the wheel's contents, and the README's fresh-machine commands run for real.

The README's demo command is read from README.md and run as written, in a copy of the source
tree with a new virtual environment; the test command is checked to be exactly what
``.ci/run`` runs (CI runs it on a fresh clone, so running it here again would only recurse).
"""

from __future__ import annotations

import configparser
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import connect_chat

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("connect_chat", "setup.cfg", "setup.py", "pyproject.toml", "README.md")


def readme_commands() -> list[str]:
    """The ``sh`` code blocks of the README's "On a fresh machine" section, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## On a fresh machine", 1)[1].split("\n## ", 1)[0]
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def copy_sources(destination: Path) -> Path:
    """The files a user's clone has that packaging reads (no caches, no build leftovers)."""
    destination.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, destination / name, ignore=ignore)
        else:
            shutil.copy2(source, destination / name)
    return destination


def clean_env() -> dict[str, str]:
    """The environment without this virtualenv's activation, so the new one stands alone."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join(
        part for part in env.get("PATH", "").split(os.pathsep) if part != bin_dir
    )
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


@pytest.fixture(scope="module")
def wheel_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the sources, as a user builds it from a clone."""
    work = tmp_path_factory.mktemp("wheel")
    source = copy_sources(work / "src")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-q", "-w", str(work)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (built,) = work.glob("connect_chat-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel(wheel_file: Path) -> Iterator[zipfile.ZipFile]:
    with zipfile.ZipFile(wheel_file) as archive:
        yield archive


def dist_info(archive: zipfile.ZipFile, name: str) -> str:
    (path,) = [n for n in archive.namelist() if n.endswith(f".dist-info/{name}")]
    return archive.read(path).decode("utf-8")


def test_the_wheel_ships_py_typed_and_every_module(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "connect_chat/py.typed" in names
    shipped = {n for n in names if n.endswith(".py")}
    expected = {
        str(p.relative_to(ROOT)).replace(os.sep, "/")
        for p in (ROOT / "connect_chat").rglob("*.py")
        if "__pycache__" not in p.parts
    }
    assert expected <= shipped, sorted(expected - shipped)
    assert "connect_chat/cli/__init__.py" in shipped and "connect_chat/testing.py" in shipped


def test_the_wheel_declares_the_console_script_and_the_pytest_plugin(
    wheel: zipfile.ZipFile,
) -> None:
    entry_points = configparser.ConfigParser()
    entry_points.read_string(dist_info(wheel, "entry_points.txt"))
    assert entry_points["console_scripts"]["connect-chat"].strip() == "connect_chat.cli:main"
    assert entry_points["pytest11"]["connect_chat"].strip() == "connect_chat.pytest_plugin"


def test_the_wheel_metadata_is_single_sourced_and_declares_pythons_and_extras(
    wheel: zipfile.ZipFile,
) -> None:
    metadata = dist_info(wheel, "METADATA")
    assert f"\nVersion: {connect_chat.__version__}\n" in metadata
    assert "\nRequires-Python: >=3.10\n" in metadata
    for version in ("3.10", "3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {version}\n" in metadata
    extras = set(re.findall(r"^Provides-Extra: (\S+)$", metadata, re.M))
    assert {"emulator", "dev"} <= extras
    assert re.search(r"^Requires-Dist: aiohttp.*extra == .emulator.", metadata, re.M)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    demo, tests = readme_commands()
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci_lines
    assert "connect-chat demo" in demo


def test_the_readme_demo_command_works_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    """The README's first command, as written, in a fresh copy of the tree."""
    demo, _ = readme_commands()
    tree = copy_sources(tmp_path / "clone")
    python_dir = Path(sys.executable).resolve().parent  # a real `python3` of a supported version
    env = clean_env()
    env["PATH"] = os.pathsep.join([str(python_dir), env["PATH"]])
    result = subprocess.run(
        ["bash", "-c", "set -e\n" + demo],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, (result.stdout[-3000:], result.stderr[-3000:])
    assert "the chat has ended" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    version = subprocess.run(
        [str(tree / ".venv" / "bin" / "connect-chat"), "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert version.stdout.strip() == f"connect-chat {connect_chat.__version__}"


#: The user docs that tell how to install (the emulator's own page is its engineer's).
INSTALL_DOCS = ("README.md", "docs/quickstart.md", "docs/cli.md", "docs/testing.md",
                "docs/load-testing.md")


def test_no_doc_offers_an_index_install_as_working_today() -> None:
    """The package is on no index yet: `pip install connect-chat` fails ("No matching
    distribution"). Every such command must say it is for when the package is published."""
    index_install = re.compile(r"pip install ['\"]?connect-chat\b")
    for name in INSTALL_DOCS:
        lines = (ROOT / name).read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            if index_install.search(line):
                around = " ".join(lines[max(0, number - 3) : number + 2]).lower()
                assert "published" in around, f"{name}:{number + 1}: {line.strip()}"
    from connect_chat.cli.command import _EMULATOR_EXTRA_HINT

    assert not index_install.search(_EMULATOR_EXTRA_HINT)


def test_the_docs_say_how_to_install_from_a_clone_and_from_a_wheel() -> None:
    for name in ("README.md", "docs/quickstart.md"):
        text = (ROOT / name).read_text(encoding="utf-8")
        assert "pip install -e '.[emulator]'" in text, name
        assert ".venv/bin/python -m build --wheel" in text, name
        assert "dist/connect_chat-*.whl)[emulator]" in text, name
    dev = configparser.ConfigParser()
    dev.read(ROOT / "setup.cfg")
    assert "build" in re.findall(r"^([a-z-]+)", dev["options.extras_require"]["dev"], re.M)


def test_the_locust_extra_brings_the_emulator_it_load_tests_by_default() -> None:
    """docs/load-testing.md installs [locust] and then starts the emulator: without aiohttp
    that second command failed ("the emulator is not installed")."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    extras = config["options.extras_require"]

    def names(extra: str) -> set[str]:
        return set(re.findall(r"^([A-Za-z0-9_.-]+)", extras[extra], re.M))

    assert names("emulator") <= names("locust")
    text = (ROOT / "docs/load-testing.md").read_text(encoding="utf-8")
    assert "pip install -e '.[locust]'" in text


def test_the_wheel_installs_with_the_emulator_extra_into_a_fresh_venv(
    wheel_file: Path, tmp_path: Path
) -> None:
    """What the docs tell a user without an index: the built wheel, [emulator], a new venv,
    and the demo runs from it (not from this checkout)."""
    venv = tmp_path / "venv"
    env = clean_env()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120, env=env)
    install = subprocess.run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"{wheel_file}[emulator]"],
        capture_output=True, text=True, timeout=300, check=False, env=env, cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    demo = subprocess.run(
        [str(venv / "bin" / "connect-chat"), "demo", "--pace", "0"],
        capture_output=True, text=True, timeout=120, check=False, env=env, cwd=tmp_path,
    )
    assert demo.returncode == 0, (demo.stdout[-2000:], demo.stderr[-2000:])
    assert "the chat has ended" in demo.stdout
    where = subprocess.run(
        [str(venv / "bin" / "python"), "-c",
         "import connect_chat, connect_chat.emulator; print(connect_chat.__file__)"],
        capture_output=True, text=True, timeout=60, check=True, env=env, cwd=tmp_path,
    )
    assert where.stdout.strip().startswith(str(venv)), where.stdout
