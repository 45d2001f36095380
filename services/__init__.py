"""The services: the use cases with their database I/O (billing and audits, records, recommendation and
campaigns, anomalies and alerts, handoffs, tickets, conversations, satisfaction and reports).

Edges (api, cli, actions, ops) call them; they call the pure packages (analytics, knowledge, demo) and core.
"""
