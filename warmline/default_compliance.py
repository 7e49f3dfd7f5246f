"""The default regulatory policy, where the core looks for it.

The rules live with the contracts (``models.default_compliance``) because the routing config
(``models.routing.RoutingConfig.regulatory``) defaults to them and contracts import nothing
above them.
"""

from __future__ import annotations

from models.default_compliance import ALL_PARTY_CONSENT_STATES, default_regulatory_policy

__all__ = ["ALL_PARTY_CONSENT_STATES", "default_regulatory_policy"]
