"""The Dash command center: ids, layout, callbacks, queries, figures.

Layout and figures are pure (``layout``, ``shell``, ``pages/``, ``figures``, ``maps``,
``charts``, ``components``); callbacks are thin adapters (``callbacks`` wires ``views`` and
``router``) registered with a query provider; queries are parameterised SQL behind
:class:`dashboard.queries.Queries` (``sql``, ``rows``), with ``fake.FakeQueries`` for tests.
Every query takes the viewer's ``scope.Scope``. The pure rules: ``stages`` (operational
stage), ``cases`` (lifecycle limits), ``actions`` (the operator-action contract the worker
mirrors), ``routes`` (addresses), ``i18n`` (every label in English and Chinese). The
edges: ``auth`` and ``users`` (login, sessions, users table), ``sender`` (actions to Kafka).
"""
