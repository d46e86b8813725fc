"""loanwatch shell: faust app, topics, decode edge, CLI, replay, metrics."""
