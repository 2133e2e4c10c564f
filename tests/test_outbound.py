"""Outbound traffic goes only where it should: no redirects for API calls, https for every
remote endpoint but loopback ones, result downloads that the provider cannot steer."""

from __future__ import annotations

import pytest

from liveai.errors import ProviderError
from liveai.generation.runtime import http_client
from liveai.providers.kling import KlingAuth, KlingProvider
from liveai.settings import load_settings
from tests.fakes.kling import FakeKling
from tests.providers_helpers import quick_policy, video_request


def test_an_api_call_answered_with_a_307_does_not_re_post_the_photo() -> None:
    policy, _ = quick_policy(retries=0)
    with FakeKling(api_keys={"k"}) as api, FakeKling(api_keys={"k"}) as elsewhere:
        api.redirect_to = elsewhere.url
        api.inject("redirect", "submit")
        with http_client(load_settings()) as client:
            auth = KlingAuth(access_key=None, secret_key=None, api_key="k")
            provider = KlingProvider(client, auth=auth, base_url=api.url, policy=policy)
            with pytest.raises(ProviderError, match="redirect"):
                provider.submit(video_request())
        assert elsewhere.requests == []


def _endpoints(url: str) -> list[object]:
    """Build every remote endpoint that takes a configurable URL, pointed at ``url``."""
    import httpx
    from cryptography.hazmat.primitives.asymmetric import ec

    from liveai.clock import SYSTEM_CLOCK
    from liveai.providers.ark import ArkProvider
    from liveai.purchases.receipts import VerifyReceiptClient
    from liveai.purchases.server_api import ServerApiClient
    from liveai.push.client import ApnsClient

    http = httpx.Client()
    key = ec.generate_private_key(ec.SECP256R1())
    return [
        lambda: ArkProvider(http, api_key="a", base_url=url),
        lambda: VerifyReceiptClient(http, production_url=url, sandbox_url=url),
        lambda: ServerApiClient(
            http,
            base_url=url,
            key_id="K",
            issuer_id="I",
            private_key=key,
            bundle_id="b",
            clock=SYSTEM_CLOCK,
        ),
        lambda: ApnsClient(httpx.AsyncClient(), signer=None, topic="t", base_url=url),  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize("index", range(4), ids=["provider", "receipts", "server_api", "apns"])
def test_plain_http_is_refused_for_remote_endpoints_except_loopback(index: int) -> None:
    from liveai.errors import ConfigError

    with pytest.raises(ConfigError, match="must be an https URL"):
        _endpoints("http://api.example.com")[index]()  # type: ignore[operator]
    assert _endpoints("http://127.0.0.1:9")[index]() is not None  # type: ignore[operator]
    assert _endpoints("https://api.example.com")[index]() is not None  # type: ignore[operator]
