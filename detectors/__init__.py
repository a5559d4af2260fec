"""The pure core of citybrain, in parts:

- ``contract``: what crosses process boundaries (events and their wire form, validation,
  operator actions, warning levels, the city's places);
- ``rollup``: roll-up aggregations over the city hierarchy;
- ``scoring``: the detectors, the banks of them per series and the worker's monitor;
- ``alerting``: the alert engine (levels, incidents, escalation);
- ``evaluation``: labelled scenarios and the offline evaluation against them.

Nothing here does I/O, reads the environment or the clock: callers pass those in (the
CLI's file edge, ``__main__`` and ``cli_io``, excepted).
"""
