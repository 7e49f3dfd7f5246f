"""The name/address tagger's network: frozen word-piece embeddings of the bundled encoder, a
few word-shape features, a small residual convolution stack, a tag per word piece.

Why not the encoder's transformer layers: one MiniLM layer costs about as much as this whole
network, and redaction runs on every turn of every interaction; the goal is over a thousand
lines a second on one core. The encoder's embedding table already knows that "jean" and
"dupont" are name-like pieces and "rue" and "strasse" street words; the convolutions (a
receptive field of 13 pieces) add the context ("my name is ...", "... street, London").
Casing is lost in the uncased vocabulary, so it comes back as a shape feature.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

TAGS = ("O", "B-NAME", "I-NAME", "B-ADDRESS", "I-ADDRESS")
OUTSIDE = 0
SHAPE_FEATURES = 8
"""title case, all caps, has digit, all digits, punctuation, word continuation, after space,
first piece of the text."""


class TaggerNet(nn.Module):
    """Piece ids [batch, length] and shapes [batch, length, SHAPE_FEATURES] -> tag logits."""

    def __init__(
        self, embeddings: torch.Tensor, width: int = 128, layers: int = 3, kernel: int = 5
    ) -> None:
        super().__init__()
        self.embeddings = nn.Embedding.from_pretrained(embeddings.float(), freeze=True)
        self.project = nn.Linear(embeddings.shape[1], width)
        self.shape = nn.Linear(SHAPE_FEATURES, width)
        self.convs = nn.ModuleList(
            nn.Conv1d(width, width, kernel, padding=kernel // 2) for _ in range(layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in range(layers))
        self.out = nn.Linear(width, len(TAGS))
        self.dropout = nn.Dropout(0.1)

    def forward(self, ids: torch.Tensor, shapes: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``mask`` [batch, length] is 1 on real pieces: padding is zeroed after every layer,
        so a text gets the same tags alone or in a padded batch."""
        keep = mask.unsqueeze(-1).to(torch.float32)
        x = F.gelu(self.project(self.embeddings(ids)) + self.shape(shapes)) * keep
        x = self.dropout(x)
        for conv, norm in zip(self.convs, self.norms, strict=True):
            y = conv(x.transpose(1, 2)).transpose(1, 2)
            x = norm(x + self.dropout(F.gelu(y))) * keep
        return self.out(x)

    def trainable_state(self) -> dict[str, torch.Tensor]:
        """Everything but the frozen embedding table (which ships with the encoder)."""
        return {k: v for k, v in self.state_dict().items() if not k.startswith("embeddings.")}
