"""The knowledge base: documents in data/knowledge turned into an index and answers."""
