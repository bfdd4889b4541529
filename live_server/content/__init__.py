"""Content after the show: processing jobs, replays, clips, the feed, posts and social.

Other features use what is re-exported here; the modules inside are this feature's own.
"""

from live_server.content.feature import Content, NotifyUser, build, setup

__all__ = ["Content", "NotifyUser", "build", "setup"]
