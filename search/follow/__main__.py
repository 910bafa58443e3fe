"""``python -m search.follow FEEDS.toml ...``: the follower without the rest of the CLI."""

from search.follow.command import follow_command

if __name__ == "__main__":  # the extractor processes import this module again
    follow_command(prog_name="news-search follow")
