"""A throwaway vendor written the way docs/architecture.md ("Adding a vendor") says: one
module whose SPEC is all the rest of liveai reads, its own key included. Acme resells
Seedance behind Ark's API, so the Ark fake answers it and its translation is Ark's;
its own spec gives its region, result hosts and durations."""

from __future__ import annotations

from liveai.providers.ark import ArkProvider
from liveai.providers.spec import Credential, VendorSpec, keyed

API_KEY = Credential("acme_api_key", "Acme API key")


class AcmeProvider(ArkProvider):
    name = "acme"

    @staticmethod
    def spec() -> VendorSpec:
        return SPEC


SPEC = VendorSpec(
    name="acme",
    base_url="https://api.acme.example/api/v3",
    model="doubao-seedance-1-0-lite-i2v-250428",
    durations=tuple(range(2, 13)),
    credentials=((API_KEY,),),
    result_hosts=("cdn.acme.example",),
    build=keyed(AcmeProvider, API_KEY),
)
