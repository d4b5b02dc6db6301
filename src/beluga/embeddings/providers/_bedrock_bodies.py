"""The request and response bodies of Bedrock's embedding models (``InvokeModel``).

Each model family has its own JSON, as the Bedrock model-parameter pages document:

- Titan Text Embeddings V2 (``amazon.titan-embed-text-v2:0``): one text per call,
  ``{"inputText", "dimensions": 256|512|1024, "normalize": true, "embeddingTypes": ["float"]}``
  -> ``{"embedding": [...], "inputTextTokenCount": n, "embeddingsByType": {"float": [...]}}``.
- Titan Multimodal Embeddings G1 (``amazon.titan-embed-image-v1``): one input per call, a text,
  an image (base64) or both in one vector space, ``{"inputText", "inputImage",
  "embeddingConfig": {"outputEmbeddingLength": 256|384|1024}}`` -> ``{"embedding": [...],
  "inputTextTokenCount": n}``.
- Cohere Embed v3 (``cohere.embed-english-v3``, ``cohere.embed-multilingual-v3``): up to 96
  texts, or one image as a data URL, ``{"texts"|"images", "input_type", "truncate",
  "embedding_types": ["float"]}`` -> ``{"embeddings": {"float": [[...]]}, "id",
  "response_type": "embeddings_by_type"}`` (``{"embeddings": [[...]]}`` without embedding types).
- Cohere Embed v4 (``cohere.embed-v4:0``): the v3 body, plus ``inputs`` of mixed text and
  image content (``{"content": [{"type": "text", "text"}, {"type": "image_url",
  "image_url"}]}``) and ``output_dimension``.
"""

from __future__ import annotations

from typing import Any, Literal

from beluga.core.errors import BelugaError, ErrorCode
from beluga.embeddings.base import EmbedInput
from beluga.schema import ImagePart, TextPart

__all__ = ["Family", "family_of", "parse", "request"]

Family = Literal["titan-text", "titan-image", "cohere-v3", "cohere-v4"]
_OP = "embeddings.bedrock"


def family_of(model: str) -> Family:
    """The body format of ``model`` (an id, with or without a region prefix, or an ARN)."""
    if "titan-embed-image" in model:
        return "titan-image"
    if "titan-embed-text" in model:
        return "titan-text"
    if "cohere.embed-v4" in model:
        return "cohere-v4"
    if "cohere.embed" in model:
        return "cohere-v3"
    raise BelugaError(
        _OP,
        ErrorCode.INVALID_CONFIG,
        f"{model!r} is not an embedding model this adapter knows; use "
        "amazon.titan-embed-text-v2:0, amazon.titan-embed-image-v1, cohere.embed-english-v3, "
        "cohere.embed-multilingual-v3 or cohere.embed-v4:0",
    )


def _parts(item: EmbedInput) -> tuple[str, list[ImagePart]]:
    if isinstance(item, str):
        return item, []
    texts, images = [], []
    for part in item:
        if isinstance(part, TextPart):
            texts.append(part.text)
        elif isinstance(part, ImagePart):
            images.append(part)
        else:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                f"Bedrock embedding models take text and images, not a {type(part).__name__}",
            )
    return " ".join(texts), images


def _image_data(image: ImagePart) -> ImagePart:
    if image.url is not None and not image.url.startswith("data:"):
        raise BelugaError(
            _OP,
            ErrorCode.INVALID_REQUEST,
            "Bedrock needs image bytes, not a URL: pass ImagePart(data=..., media_type=...)",
        )
    return image


def request(
    family: Family,
    batch: list[EmbedInput],
    *,
    dimensions: int | None,
    input_type: str,
    normalize: bool,
) -> dict[str, Any]:
    """The JSON body for ``batch`` (one input for the Titan models)."""
    if family in ("titan-text", "titan-image"):
        text, images = _parts(batch[0])
        body: dict[str, Any] = {}
        if text:
            body["inputText"] = text
        if family == "titan-text":
            if images:
                raise BelugaError(
                    _OP, ErrorCode.INVALID_REQUEST, "titan-embed-text takes text only"
                )
            body.update(normalize=normalize, embeddingTypes=["float"])
            if dimensions is not None:
                body["dimensions"] = dimensions
            return body
        if len(images) > 1:
            raise BelugaError(
                _OP, ErrorCode.INVALID_REQUEST, "titan-embed-image takes one image per input"
            )
        if images:
            body["inputImage"] = _image_data(images[0]).as_base64()
        if dimensions is not None:
            body["embeddingConfig"] = {"outputEmbeddingLength": dimensions}
        return body
    return _cohere(family, batch, dimensions=dimensions, input_type=input_type)


def _cohere(
    family: Family, batch: list[EmbedInput], *, dimensions: int | None, input_type: str
) -> dict[str, Any]:
    split = [_parts(item) for item in batch]
    body: dict[str, Any] = {"embedding_types": ["float"]}
    if not any(images for _, images in split):
        body.update(texts=[text for text, _ in split], input_type=input_type, truncate="END")
    elif family == "cohere-v3":
        if len(split) != 1 or split[0][0] or len(split[0][1]) != 1:
            raise BelugaError(
                _OP,
                ErrorCode.INVALID_REQUEST,
                "Cohere Embed v3 embeds one image alone per input (no text beside it); use "
                "cohere.embed-v4:0 for text and image in one input",
            )
        body.update(images=[_image_data(split[0][1][0]).as_data_url()], input_type="image")
    else:
        inputs = []
        for text, images in split:
            content: list[dict[str, Any]] = [{"type": "text", "text": text}] if text else []
            content += [
                {"type": "image_url", "image_url": _image_data(i).as_data_url()} for i in images
            ]
            inputs.append({"content": content})
        body.update(inputs=inputs, input_type=input_type, truncate="END")
    if family == "cohere-v4" and dimensions is not None:
        body["output_dimension"] = dimensions
    return body


def parse(family: Family, data: Any) -> tuple[list[list[float]], int]:
    """The vectors of a response body and the input tokens it reports (0 if none)."""
    if family in ("titan-text", "titan-image"):
        by_type = data.get("embeddingsByType") or {}
        vector = by_type.get("float") or data["embedding"]
        return [[float(v) for v in vector]], int(data.get("inputTextTokenCount") or 0)
    embeddings = data["embeddings"]
    if isinstance(embeddings, dict):  # embeddings_by_type
        embeddings = embeddings["float"]
    return [[float(v) for v in row] for row in embeddings], 0
