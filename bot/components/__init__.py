"""Custom Rasa NLU components of PowerDesk (loaded by Rasa with bot/ on PYTHONPATH)."""
