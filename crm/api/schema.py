"""OpenAPI post-processing: document the error answers every operation may give."""

ERROR_SCHEMA = {
    "type": "object",
    "description": "`detail` for a general error; otherwise field names with their messages.",
    "additionalProperties": True,
}

ERRORS = {
    "400": "Invalid input or filter; the body names the fields.",
    "401": "No credentials, or a token that is unknown, expired or revoked.",
    "403": "Your role does not allow this.",
    "404": "No such record (or page, or cursor).",
    "406": "The format asked for is not available here.",
    "409": "The record is referenced by others and cannot be deleted.",
    "412": "If-Match does not name the current version (ETag) of the record.",
    "415": "The body is not JSON, a form or multipart, or cannot be read as its type says.",
    "429": "Too many requests for this token or user; retry after the time Retry-After says.",
}


def add_error_responses(result, generator, request, public):
    """Add the error responses DRF gives, with the same JSON shape, to each operation.

    Also say that query parameters may be sent empty, which means "not given".
    """
    content = {"application/json": {"schema": ERROR_SCHEMA}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query":
                    # An empty value (?project=) means "no filter", as HTML forms send it.
                    parameter["allowEmptyValue"] = True
            codes = ["400", "401", "403", "404", "406", "429"]
            if method in ("put", "patch", "post"):
                codes.append("415")
            if method == "delete":
                codes.append("409")
            if method in ("put", "patch", "post") and (
                path.startswith("/api/v1/follow-ups/") or path.startswith("/api/v1/partnerships/")
            ):
                codes.append("412")
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(code, {"description": ERRORS[code], "content": content})
    return result
