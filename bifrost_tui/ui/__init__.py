"""The Textual console: the app, its screens and widgets (everything here may import Textual)."""
