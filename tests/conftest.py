"""Shared test set-up: headless Qt, and no test ever touches the user's settings."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

# offscreen, on a 1920×1200 screen (Qt's default offscreen screen is 800×800, and the
# window keeps itself on its screen): tests that need another size start a process
_SCREEN = Path(tempfile.gettempdir()) / "crs-test-screen-1920x1200.json"
_SCREEN.write_text(json.dumps({"synchronousWindowSystemEvents": False, "windowFrameMargins": False,
                               "screens": [{"name": "test", "x": 0, "y": 0, "width": 1920,
                                            "height": 1200, "logicalDpiX": 96,
                                            "logicalDpiY": 96, "dpr": 1}]}))
if os.environ.get("QT_QPA_PLATFORM", "offscreen") == "offscreen":
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={_SCREEN}"
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import pytest  # noqa: E402

EXAMPLES = ROOT / "assets" / "examples"


@pytest.fixture(scope="session", autouse=True)
def _isolated_qt_settings(tmp_path_factory: pytest.TempPathFactory):
    """Point QSettings and QStandardPaths at a temporary folder for the whole run."""
    try:
        from PySide6.QtCore import QCoreApplication, QSettings, QStandardPaths
    except ImportError:  # engine-only environments
        yield
        return
    QStandardPaths.setTestModeEnabled(True)
    folder = tmp_path_factory.mktemp("qsettings")
    QSettings.setDefaultFormat(QSettings.IniFormat)
    for scope in (QSettings.UserScope, QSettings.SystemScope):
        QSettings.setPath(QSettings.IniFormat, scope, str(folder))
    QCoreApplication.setOrganizationName("ChainRuleStudioTests")
    QCoreApplication.setApplicationName("ChainRuleStudioTests")
    os.environ["CHAIN_RULE_STUDIO_DATA_DIR"] = str(tmp_path_factory.mktemp("appdata"))
    yield
    # as the app does on quit: a copied graph left on the clipboard would otherwise crash
    # the interpreter's exit (see gui.mime.hand_over_clipboard)
    from gui.mime import hand_over_clipboard
    hand_over_clipboard()


@pytest.fixture(autouse=True)
def _fresh_settings():
    """Each test starts from empty settings, as a first-time user would."""
    try:
        from PySide6.QtCore import QSettings
    except ImportError:
        yield
        return
    QSettings().clear()
    yield
    QSettings().clear()
