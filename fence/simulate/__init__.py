"""Terminal simulator: seeded BeiDou/RTK terminals moving through a site.

The model (``model``, ``behaviours``, ``receiver``, ``scenario``) is a pure function of
its arguments; ``wire`` turns samples into NMEA or fix JSON; ``transports`` and
``pacing`` put them on MQTT, a pseudo terminal, TCP or a file at wall-clock pace.
"""
