"""The package as the Docker image installs it: built into a wheel from the files the Dockerfile copies,
installed into a throwaway environment, run from a folder far from the source tree."""

import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import httpx

from tests.workload import free_port

ROOT = Path(__file__).resolve().parents[1]
# What the Dockerfile's build stage copies: the wheel must need nothing else.
BUILD_INPUTS = ("pyproject.toml", "setup.py", "README.md", "alembic.ini", "app", "migrations", "templates")


def build_wheel(workdir: Path) -> Path:
    source = workdir / "source"
    for name in BUILD_INPUTS:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            source.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--wheel-dir",
            workdir / "dist",
            source,
        ],
        check=True,
    )
    [wheel] = (workdir / "dist").glob("carnet-*.whl")
    return wheel


def install(wheel: Path, venv: Path) -> Path:
    """A new environment holding the wheel alone; the dependencies come from the test's own environment
    (a path in a .pth file, so that the editable install of the source tree is not activated there)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    dependencies = {sysconfig.get_paths()["purelib"], *site.getsitepackages()}
    Path(purelib, "_carnet_dependencies.pth").write_text("\n".join(sorted(dependencies)) + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--quiet", wheel],
        check=True,
    )
    return venv / "bin"


def test_the_installed_package_migrates_and_serves_its_pages_outside_the_source_tree(tmp_path: Path) -> None:
    bin_dir = install(build_wheel(tmp_path), tmp_path / "venv")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("CARNET_", "PYTHON"))
    } | {"CARNET_DATABASE_URL": f"sqlite:///{elsewhere / 'carnet.db'}", "CARNET_LOG_FORMAT": "json"}

    def run(*arguments: str | Path) -> str:
        done = subprocess.run(arguments, cwd=elsewhere, env=environment, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        return done.stdout

    # As the image runs it: production refuses to start without its secret, and says so in one line.
    refused = subprocess.run(
        [bin_dir / "carnet", "db", "upgrade"],
        cwd=elsewhere,
        env=environment | {"CARNET_ENVIRONMENT": "production"},
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2
    assert (
        refused.stderr.startswith("error: CARNET_SECRET_KEY must be")
        and refused.stderr.count("\n") == 1
        and "Traceback" not in refused.stderr
    )
    assert not (elsewhere / "carnet.db").exists()

    located = run(bin_dir / "python", "-c", "import app.paths as p; print(p.__file__); print(p.RESOURCES)")
    assert all(line.startswith(str(tmp_path / "venv")) for line in located.splitlines()), located
    assert "database at the latest migration" in run(bin_dir / "carnet", "db", "upgrade")

    port = free_port()
    server = subprocess.Popen(
        [bin_dir / "carnet", "serve", "--port", str(port)],
        cwd=elsewhere,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None
        first_line = server.stderr.readline()  # written once the socket listens
        assert f"http://127.0.0.1:{port}" in first_line, first_line
        base = f"http://127.0.0.1:{port}"
        ready = httpx.get(f"{base}/readyz", timeout=30)
        assert ready.status_code == 200, ready.text  # the installed migrations are the database's
        login = httpx.get(f"{base}/login", timeout=30)
        assert login.status_code == 200 and 'name="csrf_token"' in login.text  # a template rendered
        assert httpx.get(f"{base}/assets/desk.css", timeout=30).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
