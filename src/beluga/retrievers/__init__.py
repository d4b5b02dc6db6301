"""Retrievers and rerankers: the R of RAG (see :mod:`.base`).

Vector (:class:`VectorRetriever`), BM25 (:class:`BM25Retriever`), hybrid by reciprocal-rank
fusion (:class:`HybridRetriever`), MMR, multi-query and parent-document retrievers, reranking
(:class:`RerankingRetriever` with Cohere, Voyage, Jina, embedding or LLM rerankers), every
retriever usable as an agent tool (``retriever.as_tool()``), and ingestion of files into a
vector store (:mod:`.ingest`, ``beluga ingest``).
"""

from beluga.retrievers.base import BaseRetriever, Reranker, Retriever
from beluga.retrievers.bm25 import BM25Retriever
from beluga.retrievers.corpus import Corpus, IngestedCorpus
from beluga.retrievers.fusion import HybridRetriever, reciprocal_rank_fusion
from beluga.retrievers.mmr import MMRRetriever, mmr_select
from beluga.retrievers.multi_query import MultiQueryRetriever
from beluga.retrievers.parent import ParentDocumentRetriever
from beluga.retrievers.registry import create_reranker, rerankers, retrievers
from beluga.retrievers.rerank import (
    BaseReranker,
    EmbeddingReranker,
    LLMReranker,
    RerankingRetriever,
)
from beluga.retrievers.tool import format_hits, retriever_tool
from beluga.retrievers.vector import VectorRetriever

__all__ = [
    "BM25Retriever",
    "BaseReranker",
    "BaseRetriever",
    "Corpus",
    "EmbeddingReranker",
    "HybridRetriever",
    "IngestedCorpus",
    "LLMReranker",
    "MMRRetriever",
    "MultiQueryRetriever",
    "ParentDocumentRetriever",
    "Reranker",
    "RerankingRetriever",
    "Retriever",
    "VectorRetriever",
    "create_reranker",
    "format_hits",
    "mmr_select",
    "reciprocal_rank_fusion",
    "rerankers",
    "retriever_tool",
    "retrievers",
]
