from __future__ import annotations

import pytest

from alerting import config
from alerting.adapters.kafka.options import consumer_options
from alerting.config import ConfigError
from alerting.services.ingest import models as ingest_models


def test_defaults_load_without_any_environment() -> None:
    settings = config.load({})
    assert settings.kafka.bootstrap == "127.0.0.1:9092"
    assert settings.kafka.partitions == 6
    assert settings.topics.all() == (
        "alerts.new",
        "rule.changed",
        "alerts.matched",
        "notifications.ready",
    )
    assert settings.port("rule-service") == 8081
    assert settings.port("sender") == 9104
    assert settings.allow_private_urls is False
    assert settings.group_id("evaluator") == "alerting-evaluator"
    assert settings.admin_token is None
    kafka = settings.kafka
    assert (kafka.batch_size, kafka.evaluator_batch_size, kafka.aggregator_batch_size) == (
        500,
        2000,
        2000,
    )


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ALERTING_KAFKA_PARTITIONS": "six"}, "ALERTING_KAFKA_PARTITIONS"),
        ({"ALERTING_KAFKA_PARTITIONS": "0"}, "ALERTING_KAFKA_PARTITIONS"),
        ({"ALERTING_EVALUATOR_BATCH_SIZE": "0"}, "ALERTING_EVALUATOR_BATCH_SIZE"),
        ({"ALERTING_AGGREGATOR_BATCH_SIZE": "100001"}, "ALERTING_AGGREGATOR_BATCH_SIZE"),
        ({"ALERTING_INGEST_PORT": "70000"}, "ALERTING_INGEST_PORT"),
        ({"ALERTING_ALLOW_PRIVATE_URLS": "maybe"}, "ALERTING_ALLOW_PRIVATE_URLS"),
        ({"ALERTING_POSTGRES_DSN": "mysql://x/y"}, "ALERTING_POSTGRES_DSN"),
        ({"ALERTING_REDIS_URL": "http://x"}, "ALERTING_REDIS_URL"),
        ({"ALERTING_KAFKA_BOOTSTRAP": "nohostport"}, "ALERTING_KAFKA_BOOTSTRAP"),
        ({"ALERTING_LOG_LEVEL": "LOUD"}, "ALERTING_LOG_LEVEL"),
        ({"ALERTING_TOPIC_ALERTS_NEW": "bad topic!"}, "ALERTING_TOPIC_ALERTS_NEW"),
        ({"ALERTING_ADMIN_TOKEN": "short"}, "ALERTING_ADMIN_TOKEN"),
        ({"ALERTING_KAFKA_SECURITY_PROTOCOL": "SASL"}, "ALERTING_KAFKA_SECURITY_PROTOCOL"),
        ({"ALERTING_AUTH_FAILURES_PER_SOURCE": "-1"}, "ALERTING_AUTH_FAILURES_PER_SOURCE"),
        ({"ALERTING_AUTH_FAILURES_PER_PREFIX": "many"}, "ALERTING_AUTH_FAILURES_PER_PREFIX"),
        ({"ALERTING_AUTH_FAILURE_WINDOW_S": "0"}, "ALERTING_AUTH_FAILURE_WINDOW_S"),
        ({"ALERTING_TRUSTED_PROXY_HOPS": "11"}, "ALERTING_TRUSTED_PROXY_HOPS"),
    ],
)
def test_invalid_setting_is_named_in_one_line(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigError) as info:
        config.load(env)
    message = str(info.value)
    assert named in message
    assert "\n" not in message


def test_admin_token_is_required_where_needed() -> None:
    with pytest.raises(ConfigError, match="ALERTING_ADMIN_TOKEN"):
        config.load({}).require_admin_token()
    assert config.load({"ALERTING_ADMIN_TOKEN": "x" * 16}).require_admin_token() == "x" * 16


def test_passwords_from_secret_variables_are_merged_and_never_shown() -> None:
    settings = config.load(
        {
            "ALERTING_POSTGRES_DSN": "postgresql://app@db.internal:5432/alerting",
            "ALERTING_POSTGRES_PASSWORD": "p@ss/word",
            "ALERTING_REDIS_URL": "rediss://cache.internal:6379/0",
            "ALERTING_REDIS_PASSWORD": "tok",
            "ALERTING_ADMIN_TOKEN": "a-very-secret-admin-token",
        }
    )
    assert settings.postgres_dsn == "postgresql://app:p%40ss%2Fword@db.internal:5432/alerting"
    assert settings.redis_url == "rediss://:tok@cache.internal:6379/0"
    shown = repr(settings)
    assert "p%40ss" not in shown and "tok@" not in shown and "a-very-secret" not in shown
    assert config.redact(settings.postgres_dsn) == "postgresql://app:***@db.internal:5432/alerting"


def test_markdown_table_documents_every_setting() -> None:
    table = config.markdown_table()
    for setting in config.SETTINGS:
        assert f"`{setting.env}`" in table


def test_readme_configuration_table_matches_the_code() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert config.markdown_table() in readme, "run `make readme`"


def test_a_service_batch_size_overrides_the_shared_one_for_its_consumer() -> None:
    kafka = config.load({"ALERTING_BATCH_SIZE": "300"}).kafka
    assert consumer_options(kafka, "g")["max_poll_records"] == 300
    assert consumer_options(kafka, "g", kafka.evaluator_batch_size)["max_poll_records"] == 2000


def test_api_key_cache_intervals_default_and_the_staleness_covers_the_refresh() -> None:
    defaults = config.load({})
    assert (defaults.api_key_refresh_s, defaults.api_key_max_stale_s) == (30, 900)
    tuned = config.load({"ALERTING_API_KEY_REFRESH_S": "0", "ALERTING_API_KEY_MAX_STALE_S": "0"})
    assert (tuned.api_key_refresh_s, tuned.api_key_max_stale_s) == (0, 0)
    with pytest.raises(ConfigError, match="ALERTING_API_KEY_MAX_STALE_S=20 must be at least"):
        config.load({"ALERTING_API_KEY_REFRESH_S": "30", "ALERTING_API_KEY_MAX_STALE_S": "20"})


def test_quota_defaults_and_a_burst_that_holds_the_largest_batch() -> None:
    quotas = config.load({}).quotas
    assert quotas == config.QuotaSettings(
        rules_per_client=1000,
        endpoints_per_rule=20,
        api_keys_per_client=20,
        ingest_alerts_per_s=2000,
        ingest_burst=20_000,
    )
    assert ingest_models.MAX_ALERTS == config.LARGEST_ALERT_BATCH
    with pytest.raises(ConfigError, match=r"ALERTING_QUOTA_INGEST_BURST=999 is out of range"):
        config.load({"ALERTING_QUOTA_INGEST_BURST": "999"})
    with pytest.raises(ConfigError, match="ALERTING_QUOTA_RULES_PER_CLIENT=0"):
        config.load({"ALERTING_QUOTA_RULES_PER_CLIENT": "0"})
    tuned = config.load({"ALERTING_QUOTA_ENDPOINTS_PER_RULE": "3"}).quotas
    assert tuned.endpoints_per_rule == 3


def test_failed_authentication_limits_default_to_the_documented_values() -> None:
    """A bearer backend built without settings (``FailedAuthGuard()``) uses the dataclass
    defaults: they must be the settings' defaults."""
    throttle = config.load({}).auth_throttle
    assert throttle == config.AuthThrottleSettings()
    assert (throttle.failures_per_source, throttle.failures_per_prefix) == (20, 100)
    assert (throttle.window_s, throttle.trusted_proxy_hops) == (60, 0)


def test_a_client_purge_batch_stays_a_short_transaction() -> None:
    assert config.load({}).client_purge_batch == 1000
    with pytest.raises(ConfigError, match="ALERTING_CLIENT_PURGE_BATCH=10001 is out of range"):
        config.load({"ALERTING_CLIENT_PURGE_BATCH": "10001"})


def test_retention_defaults_to_30_days_and_refuses_a_day_count_out_of_range() -> None:
    assert config.load({}).retention_days == 30
    assert config.load({"ALERTING_RETENTION_DAYS": "400"}).retention_days == 400
    for bad, why in (("0", "out of range"), ("3651", "out of range"), ("a month", "not an")):
        with pytest.raises(ConfigError, match=f"ALERTING_RETENTION_DAYS.*{why}"):
            config.load({"ALERTING_RETENTION_DAYS": bad})


def test_the_group_flusher_polls_every_quarter_second_and_refuses_a_bad_interval() -> None:
    sender = config.load({}).sender
    assert (sender.group_poll_s, sender.group_batch) == (0.25, 20)
    assert config.load({"ALERTING_SENDER_GROUP_POLL_S": "1.5"}).sender.group_poll_s == 1.5
    for bad, why in (("soon", "is not a number of seconds"), ("0", "out of range"), ("nan", "")):
        with pytest.raises(ConfigError, match=f"ALERTING_SENDER_GROUP_POLL_S.*{why}"):
            config.load({"ALERTING_SENDER_GROUP_POLL_S": bad})
    with pytest.raises(ConfigError, match="ALERTING_SENDER_GROUP_BATCH=0 is out of range"):
        config.load({"ALERTING_SENDER_GROUP_BATCH": "0"})


def test_smtp_credentials_only_with_starttls() -> None:
    """AUTH sends the password base64-encoded: without STARTTLS it would be readable on
    the wire, so a username without STARTTLS does not load."""
    creds = {"ALERTING_SMTP_USERNAME": "relay", "ALERTING_SMTP_PASSWORD": "pw-secret"}
    with pytest.raises(ConfigError, match="ALERTING_SMTP_STARTTLS is not true") as refused:
        config.load(creds)
    assert "pw-secret" not in str(refused.value)
    smtp = config.load({**creds, "ALERTING_SMTP_STARTTLS": "true"}).smtp
    assert (smtp.username, smtp.starttls) == ("relay", True)
    assert config.load({}).smtp.username == ""  # no AUTH, no TLS: the dev sinks
