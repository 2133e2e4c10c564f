"""What a vendor's provider is when an API key in one header is all it needs: the HTTP
transport carrying the key, the region its base URL sits in, where its results may come
from, how a photo goes. Ark, Wan and fal subclass it; each names its spec and its errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from liveai.providers.base import ImageTransport, VideoRequest

if TYPE_CHECKING:  # for types only: httpx and the HTTP code cost every command's start-up
    import httpx

    from liveai.errors import ProviderError
    from liveai.privacy.inventory_types import Region
    from liveai.providers.download import ResultOrigin
    from liveai.providers.http import CallPolicy
    from liveai.providers.spec import VendorSpec


class KeyedProvider:
    name: str
    auth_scheme: ClassVar[str] = "Bearer"
    """The word before the key in the Authorization header."""

    def __init__(
        self,
        client: httpx.Client,
        *,
        api_key: str,
        base_url: str | None = None,
        model: str | None = None,
        policy: CallPolicy | None = None,
    ) -> None:
        from liveai.providers.http import DEFAULT_POLICY, Transport  # here: start-up cost (httpx)

        spec = self.spec()
        url = base_url or spec.base_url
        header = {"Authorization": f"{self.auth_scheme} {api_key}"}
        self.region: Region = spec.region_at(url)
        self.model = model or spec.model
        self.http = Transport(
            self.name,
            client,
            url,
            auth=lambda: header,
            map_error=self.error_for,
            policy=DEFAULT_POLICY if policy is None else policy,
        )

    @staticmethod
    def spec() -> VendorSpec:
        """The vendor's declaration (its module's SPEC)."""
        raise NotImplementedError

    @staticmethod
    def error_for(response: httpx.Response, body: Any) -> ProviderError:
        """The error an unsuccessful answer means."""
        raise NotImplementedError

    def result_origin(self) -> ResultOrigin:
        from liveai.providers.download import ResultOrigin  # here: start-up cost (httpx)

        return ResultOrigin(self.name, self.http.base_url, self.spec().result_hosts)

    def image_transport(self, request: VideoRequest) -> ImageTransport:
        return "url" if request.image_url else "base64"
