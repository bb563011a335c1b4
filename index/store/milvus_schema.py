"""The two Milvus collections of one index generation, and how chunks and documents become their rows.

``<name>`` holds one row per chunk: its id, vector, text, source, offsets, page and section, and ``terms``
(an analysed VARCHAR) from which Milvus's BM25 function makes the sparse vector that full-text search ranks.
``<name>_texts`` holds the documents' text in pieces, by content hash, so that offsets can be read back.

What ``terms`` holds: the chunk's stemmed content words and their bigrams as :func:`index.lexical.terms`
makes them (what bm25s indexes on one machine), not the raw text. Milvus Lite's analyser only splits and
lower-cases (no stemming, no stopwords), and no Milvus analyser makes bigrams; its BM25 over the raw text
ranked worse on COVID-QA (scripts/bench/milvus_bm25, 1380 questions: lexical hit@5 0.678 against bm25s's
0.691). Over the same terms the store's BM25 ranks what bm25s ranks, with the same k1 and b.
"""

from __future__ import annotations

import json

import numpy as np

from ..types import Chunk

ID, VECTOR, SPARSE = "id", "vector", "sparse"
TEXT, TERMS, SOURCE, START, END, PAGE, SECTION = "text", "terms", "source", "start", "end", "page", "section"
SHA, SLOT = "sha", "slot"
#: Fields a search or a get returns for each chunk (the vector and the sparse vector are left out).
CHUNK_FIELDS = [ID, TEXT, SOURCE, START, END, PAGE, SECTION]
#: Fields copied from one generation's collection to the next (the sparse vector is made again by Milvus).
COPY_FIELDS = [ID, VECTOR, TEXT, TERMS, SOURCE, START, END, PAGE, SECTION]
TEXTS_SUFFIX = "_texts"
#: Milvus's limit on a VARCHAR value, in bytes.
VARCHAR_MAX = 65535
#: Characters per piece of document text: at most 4 bytes each in UTF-8, so a piece always fits a VARCHAR.
PIECE_CHARS = 16000
#: BM25 parameters, those of :class:`index.lexical.BM25Index`.
BM25_K1, BM25_B = 1.2, 0.75
#: The texts collection's vector: Milvus needs a vector field in every collection, and this one is never searched.
SLOT_VECTOR = [1.0, 0.0]


def create_collections(client, name: str, dim: int, exact: bool) -> None:
    """Create the chunk collection ``name`` and its texts collection, with their indexes.

    ``exact``: FLAT (exact) search, like FAISS below its HNSW threshold (Milvus Lite); else AUTOINDEX, which
    lets a Milvus server or cluster choose.
    """
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field(ID, DataType.INT64, is_primary=True)
    schema.add_field(VECTOR, DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field(TEXT, DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_field(
        TERMS, DataType.VARCHAR, max_length=VARCHAR_MAX, enable_analyzer=True, analyzer_params={"tokenizer": "standard"}
    )
    schema.add_field(SPARSE, DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field(SOURCE, DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_field(START, DataType.INT64)
    schema.add_field(END, DataType.INT64)
    schema.add_field(PAGE, DataType.INT64)
    schema.add_field(SECTION, DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_function(
        Function(name="bm25", function_type=FunctionType.BM25, input_field_names=[TERMS], output_field_names=[SPARSE])
    )
    params = client.prepare_index_params()
    params.add_index(field_name=VECTOR, index_type="FLAT" if exact else "AUTOINDEX", metric_type="IP")
    bm25 = {"bm25_k1": BM25_K1, "bm25_b": BM25_B}
    # as keys of their own (how pymilvus sends them, and a server reads them) and as JSON under "params", which
    # Milvus Lite reads. Without it Lite used its default k1 1.5, and 47 of 200 COVID-QA questions had bm25s's
    # lexical top 10; with it 188 (the other 12 differ in the order of equal scores), each score 2.2 (k1 + 1)
    # times bm25s's.
    params.add_index(field_name=SPARSE, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"params": bm25}, **bm25)
    client.create_collection(name, schema=schema, index_params=params)

    texts = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
    texts.add_field(ID, DataType.INT64, is_primary=True)
    texts.add_field(SHA, DataType.VARCHAR, max_length=64)
    texts.add_field(START, DataType.INT64)
    texts.add_field(END, DataType.INT64)
    texts.add_field(TEXT, DataType.VARCHAR, max_length=VARCHAR_MAX)
    texts.add_field(SLOT, DataType.FLOAT_VECTOR, dim=len(SLOT_VECTOR))
    params = client.prepare_index_params()
    params.add_index(field_name=SLOT, index_type="FLAT", metric_type="IP")
    client.create_collection(name + TEXTS_SUFFIX, schema=texts, index_params=params)


def _fit(text: str) -> str:
    """``text`` cut to fit a VARCHAR (at a character boundary)."""
    data = text.encode("utf-8")
    return text if len(data) <= VARCHAR_MAX else data[:VARCHAR_MAX].decode("utf-8", errors="ignore")


def chunk_row(chunk: Chunk, vector: np.ndarray, terms: str) -> dict:
    """The row of a chunk. A chunk too long for a VARCHAR (a run of text without spaces) is stored with an empty
    text, read from its document when it is returned; its terms are cut to fit."""
    text = chunk.text if len(chunk.text.encode("utf-8")) <= VARCHAR_MAX else ""
    return {
        ID: int(chunk.id),
        VECTOR: np.asarray(vector, dtype=np.float32).tolist(),
        TEXT: text,
        TERMS: _fit(terms),
        SOURCE: chunk.source,
        START: int(chunk.start),
        END: int(chunk.end),
        PAGE: int(chunk.page or 0),
        SECTION: _fit(chunk.section or ""),
    }


def to_chunk(row: dict) -> Chunk:
    """The chunk of a row (``text`` is empty when it did not fit: see :func:`chunk_row`)."""
    return Chunk(
        int(row[ID]), row[SOURCE], int(row[START]), int(row[END]), row[TEXT], int(row[PAGE]) or None, row[SECTION] or None
    )


def text_rows(sha: str, offset: int, text: str) -> list[dict]:
    """The rows (without ids) of a document's text from ``offset``, in pieces of :data:`PIECE_CHARS`."""
    return [
        {
            SHA: sha,
            START: offset + i,
            END: offset + min(i + PIECE_CHARS, len(text)),
            TEXT: text[i : i + PIECE_CHARS],
            SLOT: SLOT_VECTOR,
        }
        for i in range(0, len(text), PIECE_CHARS)
    ]


def id_filter(allowed: np.ndarray | None) -> str:
    """The filter expression that keeps the chunks with these ids ("" for all)."""
    if allowed is None:
        return ""
    return f"{ID} in {json.dumps(sorted(int(i) for i in allowed))}"


def text_filter(sha: str, start: int, end: int | None) -> str:
    """The filter expression for the pieces of document ``sha`` that overlap ``[start, end)``."""
    expr = f'{SHA} == "{sha}" and {END} > {int(start)}'
    return expr if end is None else f"{expr} and {START} < {int(end)}"
