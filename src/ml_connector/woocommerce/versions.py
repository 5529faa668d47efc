"""WooCommerce version facts the client depends on."""

from __future__ import annotations

import re

# modified_after/modified_before on CRUD list endpoints: PR woocommerce/woocommerce#30585, first released in
# 5.8.0 (present in 5.9.0; reference/woocommerce.md section 2.3).
MODIFIED_AFTER_SINCE = (5, 8)


def parse_version(version: str) -> tuple[int, ...]:
    """(7, 9, 0) for "7.9.0"; pre-release suffixes ("8.0.0-beta.1") are ignored."""
    numbers = re.findall(r"\d+", version.split("-", 1)[0])
    if not numbers:
        raise ValueError(f"not a WooCommerce version: {version!r}")
    return tuple(int(n) for n in numbers)
