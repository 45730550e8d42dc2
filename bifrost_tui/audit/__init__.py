"""The append-only record of every cancel: the entry, the file, the hook and the rendering."""
