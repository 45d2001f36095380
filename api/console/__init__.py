"""The agent console at /console: login, queue, cases, supervisor view (pages, JSON api, websocket)."""
