"""Satisfaction analysis: conversation metrics, sentiment, knowledge gaps (issue 8)."""
