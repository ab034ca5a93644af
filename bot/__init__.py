"""opdbot application core. Never imports ``telegram``."""

import os

# numpy's OpenBLAS runs every matrix product on one thread per core, and its idle threads spin:
# on a small machine shared with other work, the search's 0.05 ms products took up to 2 ms and
# kept the other core busy (measured on 2 cores under load). The bot's products are small: one
# thread. Set before numpy is first imported (an explicit setting in the environment wins).
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

__version__ = "0.1.0"
