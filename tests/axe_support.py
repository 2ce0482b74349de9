"""axe-core, the accessibility rule engine, for the browser tests.

Installed from the npm registry at a pinned version into a cache directory the first time a
test needs it (npm checks the package's integrity), and injected into pages with
``page.evaluate``. Without npm the browser tests that use it fail and say why.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

AXE_VERSION = "4.14.1"
_DIR = Path(tempfile.gettempdir()) / f"boardroom-axe-core-{AXE_VERSION}"
_SCRIPT = _DIR / "node_modules" / "axe-core" / "axe.min.js"

# The WCAG 2 A and AA rules and axe's best practices; "serious" and "critical" fail a test.
RUN = "axe.run(document, {runOnly: ['wcag2a', 'wcag2aa', 'best-practice']})"
FAILING_IMPACTS = {"serious", "critical"}


def axe_script() -> str:
    if not _SCRIPT.exists():
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to install axe-core for the accessibility check")
        subprocess.run(  # a fixed command: npm and a pinned package
            [
                npm,
                "install",
                "--prefix",
                str(_DIR),
                "--no-audit",
                "--no-fund",
                "--silent",
                f"axe-core@{AXE_VERSION}",
            ],
            check=True,
            timeout=300,
        )
    return _SCRIPT.read_text()


def serious_violations(result: dict[str, Any]) -> list[str]:
    """``rule (impact): first element`` for each violation that fails the check."""
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']} - {v['help']}"
        for v in result["violations"]
        if v["impact"] in FAILING_IMPACTS
    ]
