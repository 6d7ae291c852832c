"""Models that take a Mesa ``Scenario`` (Mesa >= 3.5), one discovery case per module."""
