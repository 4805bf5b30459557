"""What every layer shares: the error classes, the result base class, input validation
and the reading of specification files. ``core`` imports no other oncotrial package."""
