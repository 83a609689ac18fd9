"""MIME types the editor puts on drags and the clipboard, shared by palette, canvas and menus."""

#: palette → canvas drag; the data is the op name in UTF-8
OP_MIME = "application/x-chain-rule-studio-op"
#: copied selection on the clipboard: the file format's JSON (a plain-text copy goes alongside)
GRAPH_MIME = "application/x-chain-rule-studio"
