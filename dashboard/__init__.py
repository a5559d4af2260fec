"""The Dash command center: ids, layout, callbacks, queries, figures.

Layout and figures are pure; callbacks are thin adapters registered with a query provider;
queries are parameterised SQL behind :class:`dashboard.queries.Queries`.
"""
