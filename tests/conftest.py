"""Shared test set-up: headless Qt, and no test ever touches the user's settings."""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
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
