"""The conventions every endpoint of the API shares: the error envelope, pagination,
id and parser rules and the OpenAPI helpers (docs/api.md). Nothing of the domain."""
