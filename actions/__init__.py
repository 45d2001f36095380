"""The rasa-sdk action server: thin adapters from a Rasa tracker to core and analytics.

Start it with `python -m rasa_sdk --actions actions`. Services (database sessions, clock) are
built on first use by `actions.services.get_services`, never at import.
"""
