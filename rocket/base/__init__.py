"""The ground floor: logging, the configuration file and the state directory.

What every other room may use. It imports nothing else from rocket.
"""
