"""The house rules: layout, module sizes, import weight, docs citations, benchmark smoke runs."""
