"""Can Qt open a window here? Which system libraries its X11 (xcb) plugin still needs.

Qt aborts with "Could not load the Qt platform plugin 'xcb'" when a library the plugin
links against is missing, without saying which. ``missing_libraries`` asks the dynamic
linker (``ldd``) about the installed plugin and names each missing library with the
Debian/Ubuntu and Fedora packages that provide it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

#: soname → (Debian/Ubuntu package, Fedora package) for what libqxcb.so links against
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
}


def xcb_plugin() -> Path | None:
    """The installed Qt's X11 platform plugin, if there is one."""
    try:
        import PySide6
    except ImportError:
        return None
    p = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return p if p.is_file() else None


def missing_libraries(plugin: Path | None = None) -> list[str] | None:
    """Sonames the xcb plugin cannot find; None when that cannot be told (no plugin, not
    Linux, no ldd)."""
    plugin = plugin or xcb_plugin()
    ldd = shutil.which("ldd")
    if plugin is None or ldd is None or not sys.platform.startswith("linux"):
        return None
    try:
        out = subprocess.run([ldd, str(plugin)], capture_output=True, text=True,
                             timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [line.split()[0] for line in out.splitlines() if "not found" in line]


def advice(missing: list[str]) -> str:
    """One paragraph: what is missing and the commands that install it."""
    deb = sorted({PACKAGES.get(m, (m, m))[0] for m in missing})
    rpm = sorted({PACKAGES.get(m, (m, m))[1] for m in missing})
    return (f"Qt's X11 plugin cannot load: missing {', '.join(missing)}. Install them with "
            f"'sudo apt-get install {' '.join(deb)}' (Debian/Ubuntu) or "
            f"'sudo dnf install {' '.join(rpm)}' (Fedora).")


def uses_xcb() -> bool:
    """Will Qt try the X11 plugin? (Linux with an X display and no other platform asked.)"""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform and not platform.startswith("xcb"):
        return False
    return sys.platform.startswith("linux") and bool(os.environ.get("DISPLAY")) \
        and not (os.environ.get("WAYLAND_DISPLAY") and not platform)


def check_display() -> tuple[bool, str]:
    """(can a window open, one line saying so or what to install)."""
    plugin = xcb_plugin()
    if plugin is None:
        return True, "Qt's X11 plugin is not installed here (another platform will be used)."
    missing = missing_libraries(plugin)
    if missing is None:
        return True, "The libraries of Qt's X11 plugin could not be checked here."
    if missing:
        return False, advice(missing)
    return True, f"Qt's X11 plugin finds every library it needs ({plugin})."
