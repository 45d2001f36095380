"""The WeChat official-account channel (issue 6)."""
