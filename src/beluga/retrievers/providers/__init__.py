"""Cloud rerankers: Cohere (``cohere`` SDK, v2 rerank), Voyage AI and Jina AI (REST)."""
