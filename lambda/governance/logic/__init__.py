"""Decisions: pure functions of plain data, plus one ``run_*`` per handler that sequences the
data-access calls around them. Nothing here imports boto3 or reads the environment."""
