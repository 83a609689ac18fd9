"""MIME types the editor puts on drags and the clipboard, shared by palette, canvas and menus."""

#: palette → canvas drag; the data is the op name in UTF-8
OP_MIME = "application/x-chain-rule-studio-op"
#: Data dock → canvas drag of a dataset column; the data is the column name in UTF-8
COLUMN_MIME = "application/x-chain-rule-studio-column"
#: copied selection on the clipboard: the file format's JSON (a plain-text copy goes alongside)
GRAPH_MIME = "application/x-chain-rule-studio"


def hand_over_clipboard() -> None:
    """Move what the clipboard holds into a QMimeData that Qt itself created.

    A QMimeData made in Python and given to the clipboard is deleted by Qt's own exit
    handlers, after Python has shut down; its wrapper then calls into a dead interpreter
    and the process ends with a segmentation fault. Called on ``aboutToQuit`` (and at the
    end of the test session) this keeps the copied graph on the clipboard and lets the
    process exit cleanly.
    """
    from PySide6.QtWidgets import QApplication
    if QApplication.instance() is None:
        return
    cb = QApplication.clipboard()
    md = cb.mimeData()
    if md is None or not md.formats():
        return
    data = {f: bytes(md.data(f)) for f in md.formats() if f != "text/plain"}
    text = md.text()
    del md
    cb.setText(text)  # Qt makes this QMimeData in C++
    fresh = cb.mimeData()
    for fmt, payload in data.items():
        fresh.setData(fmt, payload)
