"""The virtual batch table: cells, column layout, width measuring, row rendering and the widget."""
