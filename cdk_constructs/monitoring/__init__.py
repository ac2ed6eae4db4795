"""Monitoring configuration: the monitors and the images they run."""
