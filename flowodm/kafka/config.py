"""Connection configuration from arguments and environment variables, with secrets kept secret.

Contract (used by ``flowodm.kafka.connection`` and the CLI):

- ``ConnectionConfig`` is a frozen pydantic-settings model (``extra="forbid"``). Every field is
  read from ``FLOWODM_<FIELD>`` (e.g. ``FLOWODM_CLIENT_ID``); the nine upstream 0.3.1 names
  (``KAFKA_BOOTSTRAP_SERVERS``, ``KAFKA_SECURITY_PROTOCOL``, ``KAFKA_SASL_MECHANISM``,
  ``KAFKA_SASL_USERNAME``, ``KAFKA_SASL_PASSWORD``, ``SCHEMA_REGISTRY_URL``,
  ``SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO``, ``SCHEMA_REGISTRY_API_KEY``,
  ``SCHEMA_REGISTRY_API_SECRET``) are read too; the ``FLOWODM_`` name wins when both are set.
  Dict fields (``producer_config`` …) are read from the environment as JSON.
- ``build_config(**given)`` is what ``connect()`` calls: explicit arguments override the
  environment, ``None`` means "not given" (so the environment still applies), and an empty string
  ``""`` clears a value the environment set. Errors become ``ConfigurationError`` and never echo
  an input value.
- Passwords and registry credentials are ``SecretStr``; ``repr``/``str`` of the config mask them,
  mask secret keys inside the librdkafka dicts and strip credentials embedded in the registry URL.
  The masking helpers themselves (``redact``, ``scrub``, ``safe_url``, ``safe_servers``) live in
  ``flowodm._secrets``, which every layer uses.
- ``bootstrap_servers`` with a ``user:password@`` part is refused (librdkafka cannot use it;
  credentials go in ``sasl_username``/``sasl_password``); ``safe_servers`` strips such a part
  from anything shown anyway.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic import model_validator as _model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from flowodm._arguments import did_you_mean
from flowodm._secrets import redact, safe_servers, safe_url, secrets_in_config, secrets_in_url
from flowodm.exceptions import ConfigurationError

__all__ = ["PRODUCER_DEFAULTS", "ConnectionConfig", "build_config"]

# librdkafka defaults FlowODM applies before the user's producer_config:
# - acks=all + idempotence: no loss and no duplicates from retries (fault-injection §2);
# - message.timeout.ms=30 s: librdkafka's 300 s default leaves a notebook user staring at a
#   hung cell for five minutes when the broker is down; 30 s still rides out a broker restart;
# - linger.ms=5: small batches for throughput without a visible delay per message.
PRODUCER_DEFAULTS: dict[str, Any] = {
    "acks": "all",
    "enable.idempotence": True,
    "message.timeout.ms": 30_000,
    "linger.ms": 5,
}


def _env(field: str, *upstream: str) -> AliasChoices:
    """Env names for a field: ``FLOWODM_<FIELD>`` first, then upstream's names."""
    return AliasChoices(f"FLOWODM_{field.upper()}", *upstream)


class ConnectionConfig(BaseSettings):
    """Where Kafka and the Schema Registry are and how to authenticate against them.

    Build it with ``build_config`` (or ``connect()``) so ``None`` means "not given".
    """

    model_config = SettingsConfigDict(
        env_prefix="FLOWODM_",
        frozen=True,
        extra="forbid",
        populate_by_name=True,
        case_sensitive=False,
        hide_input_in_errors=True,
    )

    bootstrap_servers: str | None = Field(
        default=None, validation_alias=_env("bootstrap_servers", "KAFKA_BOOTSTRAP_SERVERS")
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] | None = Field(
        default=None, validation_alias=_env("security_protocol", "KAFKA_SECURITY_PROTOCOL")
    )
    sasl_mechanism: str | None = Field(
        default=None, validation_alias=_env("sasl_mechanism", "KAFKA_SASL_MECHANISM")
    )
    sasl_username: str | None = Field(
        default=None, validation_alias=_env("sasl_username", "KAFKA_SASL_USERNAME")
    )
    sasl_password: SecretStr | None = Field(
        default=None, validation_alias=_env("sasl_password", "KAFKA_SASL_PASSWORD")
    )
    ssl_ca_location: str | None = None
    ssl_certificate_location: str | None = None
    ssl_key_location: str | None = None
    ssl_key_password: SecretStr | None = None
    schema_registry_url: str | None = Field(
        default=None, validation_alias=_env("schema_registry_url", "SCHEMA_REGISTRY_URL")
    )
    schema_registry_basic_auth_user_info: SecretStr | None = Field(
        default=None,
        validation_alias=_env(
            "schema_registry_basic_auth_user_info", "SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO"
        ),
    )
    schema_registry_api_key: str | None = Field(
        default=None, validation_alias=_env("schema_registry_api_key", "SCHEMA_REGISTRY_API_KEY")
    )
    schema_registry_api_secret: SecretStr | None = Field(
        default=None,
        validation_alias=_env("schema_registry_api_secret", "SCHEMA_REGISTRY_API_SECRET"),
    )
    client_id: str | None = None
    producer_config: dict[str, Any] = Field(default_factory=dict)
    consumer_config: dict[str, Any] = Field(default_factory=dict)
    schema_registry_config: dict[str, Any] = Field(default_factory=dict)
    # Seconds per registry HTTP attempt; with one retry a silent registry fails in about 4 s.
    registry_timeout: float = Field(default=2.0, gt=0)
    produce_timeout: float = Field(default=35.0, gt=0)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_means_unset(cls, value: Any) -> Any:
        # "" is how a caller clears a value the environment set (None means "not given").
        if isinstance(value, str) and value.strip() == "":
            return None
        return value

    @field_validator("security_protocol", mode="before")
    @classmethod
    def _upper_protocol(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator("producer_config", "consumer_config", "schema_registry_config", mode="before")
    @classmethod
    def _none_dict(cls, value: Any) -> Any:
        return {} if value is None else value

    @field_validator("bootstrap_servers")
    @classmethod
    def _no_credentials_in_servers(cls, value: str | None) -> str | None:
        if value is not None and "@" in value:
            raise ValueError(
                "bootstrap_servers must be host:port[,host:port...] and must not contain "
                "credentials ('user:password@'); pass them as sasl_username/sasl_password with "
                "sasl_mechanism and security_protocol"
            )
        return value

    @_model_validator(mode="after")
    def _check_combinations(self) -> ConnectionConfig:
        if (self.sasl_username or self.sasl_password) and not self.sasl_mechanism:
            raise ValueError(
                "sasl_username/sasl_password are set but sasl_mechanism is not; set "
                "sasl_mechanism (e.g. 'PLAIN', 'SCRAM-SHA-256') or KAFKA_SASL_MECHANISM"
            )
        if self.sasl_mechanism and self.security_protocol not in ("SASL_PLAINTEXT", "SASL_SSL"):
            raise ValueError(
                f"sasl_mechanism is set but security_protocol is {self.security_protocol!r}, so "
                "librdkafka would not use SASL; set security_protocol to 'SASL_SSL' or "
                "'SASL_PLAINTEXT'"
            )
        if (self.schema_registry_api_key is None) != (self.schema_registry_api_secret is None):
            raise ValueError(
                "schema_registry_api_key and schema_registry_api_secret must be set together"
            )
        if self.schema_registry_basic_auth_user_info and self.schema_registry_api_key:
            raise ValueError(
                "set either schema_registry_basic_auth_user_info or schema_registry_api_key/"
                "schema_registry_api_secret, not both"
            )
        info = self.schema_registry_basic_auth_user_info
        if info is not None and ":" not in info.get_secret_value():
            raise ValueError("schema_registry_basic_auth_user_info must look like 'user:password'")
        for name in ("producer_config", "consumer_config", "schema_registry_config"):
            bad = [key for key in getattr(self, name) if not isinstance(key, str)]
            if bad:
                raise ValueError(f"{name} keys must be strings (got {bad!r})")
        return self

    def kafka_settings(self) -> dict[str, Any]:
        """Return the librdkafka settings shared by producers and consumers (set values only)."""
        pairs: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
            "sasl.mechanism": self.sasl_mechanism,
            "sasl.username": self.sasl_username,
            "sasl.password": _reveal(self.sasl_password),
            "ssl.ca.location": self.ssl_ca_location,
            "ssl.certificate.location": self.ssl_certificate_location,
            "ssl.key.location": self.ssl_key_location,
            "ssl.key.password": _reveal(self.ssl_key_password),
            "client.id": self.client_id,
        }
        return {key: value for key, value in pairs.items() if value is not None}

    def registry_auth(self) -> dict[str, Any]:
        """Return the registry client's ``basic.auth.user.info`` entry, if credentials are set."""
        if self.schema_registry_basic_auth_user_info is not None:
            return {"basic.auth.user.info": _reveal(self.schema_registry_basic_auth_user_info)}
        if self.schema_registry_api_key and self.schema_registry_api_secret:
            secret = self.schema_registry_api_secret.get_secret_value()
            return {"basic.auth.user.info": f"{self.schema_registry_api_key}:{secret}"}
        return {}

    def secret_values(self) -> list[str]:
        """Return every secret this config holds, for scrubbing foreign error messages."""
        found = [
            secret.get_secret_value()
            for secret in (
                self.sasl_password,
                self.ssl_key_password,
                self.schema_registry_basic_auth_user_info,
                self.schema_registry_api_secret,
            )
            if secret is not None
        ]
        for mapping in (self.producer_config, self.consumer_config, self.schema_registry_config):
            found.extend(secrets_in_config(mapping))
        found.extend(secrets_in_url(self.schema_registry_url))
        return [value for value in found if value]

    def __repr_args__(self) -> Iterable[tuple[str | None, Any]]:
        # Secret fields repr as SecretStr already; mask what hides inside dicts and the URL.
        for name, value in super().__repr_args__():
            if name in ("producer_config", "consumer_config", "schema_registry_config"):
                yield name, redact(value)
            elif name == "schema_registry_url" and isinstance(value, str):
                yield name, safe_url(value)
            elif name == "bootstrap_servers" and isinstance(value, str):
                yield name, safe_servers(value)
            else:
                yield name, value


def build_config(**given: Any) -> ConnectionConfig:
    """Build a ``ConnectionConfig`` from explicit arguments over the environment.

    ``None`` arguments are dropped, so the environment (or the default) applies; pass ``""`` to
    clear a value that the environment sets.

    Raises:
        ConfigurationError: an unknown argument, a wrong type or a contradiction; the message
            names the setting and never shows its value.
    """
    arguments = {name: value for name, value in given.items() if value is not None}
    valid = sorted(ConnectionConfig.model_fields)
    unknown = sorted(set(arguments) - set(valid))
    if unknown:
        hint = did_you_mean(unknown[0], valid)
        raise ConfigurationError(
            f"unknown connection setting {unknown[0]!r}{hint}; valid settings are: "
            f"{', '.join(valid)}"
        )
    try:
        return ConnectionConfig(**arguments)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in error["loc"])
            text = error["msg"].removeprefix("Value error, ")
            problems.append(f"{where}: {text}" if where else text)
        raise ConfigurationError("invalid connection settings: " + "; ".join(problems)) from None


def _reveal(secret: SecretStr | None) -> str | None:
    return None if secret is None else secret.get_secret_value()
