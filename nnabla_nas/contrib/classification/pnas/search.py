"""`pnas.SearchNet`: the DARTS space in ``sample`` mode with per-cell alphas."""

from ..darts import SearchNet as DartsSearchNet


class SearchNet(DartsSearchNet):
    """The DARTS cell space for ProxylessNAS: every edge samples one operation
    per graph build (``mode='sample'``) and each cell has its own alphas
    (``shared=False``). Arguments as :class:`nnabla_nas.contrib.darts.SearchNet`.
    """

    def __init__(self, in_channels: int, init_channels: int, num_cells: int,
                 num_classes: int, num_choices: int = 4, multiplier: int = 4,
                 mode: str = "sample", shared: bool = False, stem_multiplier: int = 3):
        super().__init__(in_channels, init_channels, num_cells, num_classes,
                         num_choices=num_choices, multiplier=multiplier, mode=mode,
                         shared=shared, stem_multiplier=stem_multiplier)
