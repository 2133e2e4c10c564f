"""A throwaway vendor written the way docs/architecture.md ("Adding a vendor") says: one
module whose SPEC is all the rest of liveai reads. Acme resells Seedance behind Ark's API,
so the Ark fake answers it and its translation is Ark's; it takes the Ark key because the
settings (a closed list) have no field of its own for a test double."""

from __future__ import annotations

from liveai.providers.ark import ArkProvider
from liveai.providers.spec import VendorSpec, keyed


class AcmeProvider(ArkProvider):
    name = "acme"


SPEC = VendorSpec(
    name="acme",
    base_url="https://api.acme.example/api/v3",
    model="doubao-seedance-1-0-lite-i2v-250428",
    credentials=(("ark_api_key",),),
    result_hosts=("cdn.acme.example",),
    build=keyed(AcmeProvider, "ark_api_key"),
)
