"""Recording a module's forward pass as a TorchScript graph, the one way the served models do it.

Why one place: the encoder (``lean_bert.TracedLean``), the one-call decision (``one_pass``) and
the name/address tagger are each traced at load, outside any caller's inference mode (a graph
recorded under it could not run outside it), without autograd, and without the TracerWarnings
about shapes read in Python or the deprecation notice every trace prints. Each caller then
checks its graph against the eager pass on other shapes and keeps the eager pass if that fails.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn


def trace(module: nn.Module, example: tuple[torch.Tensor, ...]) -> Any:
    """``module`` traced on ``example`` (shapes stay dynamic where the module reads them from
    its input); raises what tracing raises."""
    with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.jit.trace(module, example, check_trace=False)
