"""Compiled reads: a query's root fields answered by one SQL statement each, the JSON built in the store.

The declarations (``sources``) say where each field's value comes from; they sit on the fields
themselves (``schema/fields.py``'s ``source=``), and a type's table is declared with ``@table``. The
compiler (``compiler``) turns a validated selection on the caller's audience schema into SQL with every
level filtered by ``auth/scopes.row_scope``; ``roots`` declares the root fields it can answer and
their arguments; ``runner`` caches plans and runs them, leaving every root field it cannot compile to
the resolver path, which stays the oracle (``HUB_EXECUTION=resolvers``).
"""
