"""The Dash command center: ids, layout, callbacks, queries, figures.

Layout and figures are pure (``layout``, ``shell``, ``pages/``, ``figures``, ``maps``,
``charts``, ``components``); callbacks are thin adapters (one table in ``callbacks`` wires
``views``, ``overview`` and ``router``) registered with a query provider; every query is
declared once in :class:`dashboard.query_protocol.Queries`, answered from ClickHouse by
``queries`` (``selects``, ``pool``; parameterised SQL in ``sql``, records from ``rows``) and
timed by ``metrics``; the tests' fake is ``tests/dashboard_fake.py``. Every query takes the
viewer's ``scope.Scope``. The pure rules: ``stages`` (operational
stage), ``cases`` (lifecycle limits), ``actions`` (the operator-action contract the worker
mirrors), ``routes`` (addresses), ``i18n`` (every label in English and Chinese). The
edges: ``auth`` and ``users`` (login, sessions, users table), ``sender`` (actions to Kafka).
"""
