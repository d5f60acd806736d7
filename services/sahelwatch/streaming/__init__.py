"""The streaming adapter: Faust agents that move records between topics and tables."""
