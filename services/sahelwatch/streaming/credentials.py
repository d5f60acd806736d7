"""Faust's (aiokafka's) view of the Kafka security settings."""

from __future__ import annotations

import ssl

import faust
from faust.types.auth import CredentialsT

from sahelwatch.config import Security


def ssl_context(security: Security) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=security.ssl_cafile)
    if security.ssl_certfile:
        context.load_cert_chain(security.ssl_certfile, security.ssl_keyfile)
    return context


def faust_credentials(security: Security) -> CredentialsT | None:
    context = ssl_context(security) if security.uses_ssl else None
    if security.uses_sasl:
        return faust.SASLCredentials(
            username=security.sasl_username,
            password=security.sasl_password,
            mechanism=security.sasl_mechanism,
            ssl_context=context,
        )
    if context is not None:
        return faust.SSLCredentials(context)
    return None
