"""The snappy plugin passes crush's conformance suite (crush.testing)."""

from crush.testing import PluginConformance
from crush_snappy import SnappyPlugin


class TestSnappyPlugin(PluginConformance):
    """Every check of crush.testing, one test each."""

    plugin = SnappyPlugin()
    polls_cancel = True  # both calls check the token before the (millisecond) codec call
    deterministic = True  # the same block and level always give the same bytes
